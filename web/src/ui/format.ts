/* Times, kinds and errors as the officer reads them. */
import { Lang, Refusal, Template, templates } from '../lib/client';
import { ParleyError } from '../lib/errors';
import type { T } from './i18n';

let cachedTemplates: Template[] | null = null;
export function allTemplates(): Template[] {
  if (!cachedTemplates) {
    try {
      cachedTemplates = templates();
    } catch {
      cachedTemplates = [];
    }
  }
  return cachedTemplates;
}

export function templateOf(kind: string): Template | undefined {
  return allTemplates().find((t) => t.kind === kind);
}

/* A kind's title in the reader's language, from the compiled templates. */
export function kindTitle(kind: string, lang: Lang): string {
  return templateOf(kind)?.title[lang] ?? kind;
}

export function viewerTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/* An RFC 3339 time in the viewer's local time zone (or the one given). */
export function localTime(iso: string, lang: Lang, timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(d);
  } catch {
    return d.toISOString();
  }
}

export function clockIn(timeZone: string, lang: Lang, now: Date): string {
  try {
    return new Intl.DateTimeFormat(lang, { weekday: 'short', hour: '2-digit', minute: '2-digit', timeZone }).format(now);
  } catch {
    return '?';
  }
}

/* Remaining time as "3 h 05 min" / "12 min 30 s". */
export function duration(ms: number, t: T): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return t('time.dh', { d, h });
  if (h > 0) return t('time.hm', { h, m: String(m).padStart(2, '0') });
  return t('time.ms', { m, s: String(sec).padStart(2, '0') });
}

export function errorText(e: unknown, t: T): string {
  if (e instanceof Refusal) return `${t('refusal.framing')} ${e.officer}`;
  if (e instanceof ParleyError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/* A hub value as text; control characters (C0 but line feed and tab, DEL, C1) shown as
 * visible escapes, as `parley` shows them (protocol §12.1 step 3). */
export function str(v: unknown): string {
  const s = typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x80 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/* A hub value that is a JSON object (not null, not an array): checked before any member
 * of a hub listing element is read. */
export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/* The object elements of a hub listing (at most `max`); anything else (null, a string,
 * an array) is skipped and counted, so the screen can say so. */
export function objects(v: unknown, max = 100000): { items: Record<string, unknown>[]; skipped: number } {
  const items: Record<string, unknown>[] = [];
  let skipped = 0;
  if (!Array.isArray(v)) return { items, skipped: v === undefined || v === null ? 0 : 1 };
  for (const e of v.slice(0, max)) {
    if (isObj(e)) items.push(e);
    else skipped++;
  }
  return { items, skipped };
}

/* The strings of a hub list (roles, languages), escaped; other elements dropped. */
export function strings(v: unknown, max = 64): string[] {
  return Array.isArray(v) ? v.slice(0, max).filter((x): x is string => typeof x === 'string').map(str) : [];
}

/* Message templates (docs/protocol.md §8.5): templates/*.json compiled into the bundle
 * at build time, so a kind added later appears without code changes; content validated
 * as parley_template_validate does (src/lib/proto/template.c). */
import files from 'parley-templates';
import { JsonNumber, JsonObject, JsonValue, isJsonObject, parseJsonObject } from './json';
import { textOk, timeParse, uuidValid, MAX_SAFE } from './signed';
import { utf8Length } from './encoding';

export type Lang = 'ar' | 'zh' | 'en' | 'fr' | 'ru' | 'es';
export const LANGS: readonly Lang[] = ['ar', 'zh', 'en', 'fr', 'ru', 'es'];

export interface TemplateChoice {
  value: string;
  labels: Record<Lang, string>;
}
export interface TemplateField {
  name: string;
  type: string; /* line, text, enum, enum-list, date, bool, reference, integer */
  required: boolean;
  max?: number;
  min?: number;
  const?: boolean;
  choices?: TemplateChoice[];
  required_if?: { field: string; equals: string };
  labels: Record<Lang, string>;
  [more: string]: unknown;
}
export interface Template {
  kind: string;
  title: Record<Lang, string>;
  source?: string;
  bases?: { instrument: string; article: string }[] /* legal bases it may be sent under; article "*": any */;
  fields: TemplateField[];
  [more: string]: unknown;
}

let loaded: Template[] | null = null;

function plain(v: JsonValue): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof JsonNumber) return Number(v.text);
  if (isJsonObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]!);
    return o;
  }
  return v;
}

/* Every compiled template, in file-name order. A malformed file is a build error, so
 * it throws. */
export function templates(): Template[] {
  if (!loaded) {
    loaded = files.map((f) => {
      const t = plain(parseJsonObject(f.json)) as Template;
      if (t.kind !== f.name || !Array.isArray(t.fields)) throw new Error(`templates/${f.name}.json: kind must equal the file name`);
      return t;
    });
  }
  return loaded;
}

export function template(kind: string): Template | undefined {
  return templates().find((t) => t.kind === kind);
}

/* Whether a kind may be sent under (instrument, article): its template's bases. */
export function basisAllowed(kind: string, instrument: string, article: string): boolean {
  return (template(kind)?.bases ?? []).some((b) => b.instrument === instrument && (b.article === '*' || b.article === article));
}

export interface FieldProblem {
  field: string;
  problem: string;
}

function hasChoice(f: TemplateField, v: unknown): boolean {
  return typeof v === 'string' && (f.choices ?? []).some((c) => c.value === v);
}

function dateOk(s: string): boolean {
  if (s.length === 10) return timeParse(`${s}T00:00:00Z`) !== null;
  return timeParse(s) !== null;
}

/* What is wrong with one present value, or null. */
function checkValue(f: TemplateField, v: unknown): string | null {
  switch (f.type) {
    case 'line':
    case 'text': {
      if (typeof v !== 'string') return 'must be a string';
      const n = utf8Length(v);
      if (n === 0) return 'must not be empty (omit an optional field instead)';
      if (n > (f.max ?? 0)) return `too long (${n} bytes, at most ${f.max})`;
      if (!textOk(v, f.type === 'line')) return `control characters are not allowed${f.type === 'line' ? ' (one line)' : ' (except \\n and \\t)'}`;
      return null;
    }
    case 'enum':
      return hasChoice(f, v) ? null : "must be one of the template's choices";
    case 'enum-list': {
      if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty array of choices';
      if (v.length > (f.choices ?? []).length) return 'more values than choices';
      for (let i = 0; i < v.length; i++) {
        if (!hasChoice(f, v[i])) return `[${i}] is not one of the template's choices`;
        if (v.slice(0, i).includes(v[i])) return `[${i}] repeats '${v[i]}'`;
      }
      return null;
    }
    case 'date':
      return typeof v === 'string' && dateOk(v) ? null : 'must be a date YYYY-MM-DD or an RFC 3339 UTC time (2026-01-31T12:00:00Z)';
    case 'bool':
      if (typeof v !== 'boolean') return 'must be true or false';
      if (f.const && v !== true) return 'must be true';
      return null;
    case 'reference':
      return uuidValid(v) ? null : 'must be a message id (UUID, lower case)';
    case 'integer': {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return 'must be an integer';
      const min = f.min ?? -MAX_SAFE;
      const max = f.max ?? MAX_SAFE;
      if (v < min || v > max) {
        if (max === MAX_SAFE) return `must be at least ${min}`;
        if (min === -MAX_SAFE) return `must be at most ${max}`;
        return `must be between ${min} and ${max}`;
      }
      return null;
    }
    default:
      return 'unknown field type';
  }
}

/* As parley_template_validate, but every problem (libparley stops at the first; the
 * first here is the one it names). field "" is the content as a whole; "kind" an unknown kind. */
export function validateContent(kind: string, content: Record<string, unknown>): FieldProblem[] {
  const t = template(kind);
  if (!t) return [{ field: 'kind', problem: `unknown message kind '${kind}'` }];
  if (typeof content !== 'object' || content === null || Array.isArray(content)) return [{ field: '', problem: 'content: must be a JSON object' }];
  const out: FieldProblem[] = [];
  for (const k of Object.keys(content)) if (!t.fields.some((f) => f.name === k)) out.push({ field: k, problem: `unknown field for ${kind}` });
  for (const f of t.fields) {
    const has = Object.prototype.hasOwnProperty.call(content, f.name) && content[f.name] !== undefined;
    if (has) {
      const p = checkValue(f, content[f.name]);
      if (p) out.push({ field: f.name, problem: p });
    } else if (f.required) {
      out.push({ field: f.name, problem: 'required' });
    } else if (f.required_if && content[f.required_if.field] === f.required_if.equals) {
      out.push({ field: f.name, problem: `required when ${f.required_if.field} is ${f.required_if.equals}` });
    }
  }
  return out;
}

export type { JsonObject };

/* Talking to the hub from the page: every request RFC 9421-signed as `parley` signs it.
 * The hub's answers are parsed strictly (duplicate keys refused) and, until checked
 * against signatures, are only the hub's word. */
import { ParleyError } from './errors';
import { utf8 } from './encoding';
import { parleyRequestHeaders } from './httpsig';
import { JsonValue, parseJson } from './json';
import { Identity, signKeyId } from './keys';
import type { Sodium } from './sodium';

/* A hub answer's body read as a stream, never more than max bytes held: a longer answer
 * is cancelled and refused (ParleyError TOO_LARGE), not read whole first. */
export async function readCapped(r: Response, max: number): Promise<Uint8Array> {
  if (!r.body) return new Uint8Array(0);
  const reader = r.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel().catch(() => undefined);
      throw new ParleyError('TOO_LARGE', `the answer is larger than ${max} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface HubAnswer {
  status: number;
  body: JsonValue | null; /* null when the answer is not JSON */
}

/* hubUrl is the hub's public URL (its --public-url): @target-uri is built from it, so
 * it must be the URL the hub itself believes it has. */
export async function hubRequest(
  na: Sodium,
  hubUrl: string,
  id: Identity,
  method: string,
  path: string,
  body?: JsonValue,
): Promise<HubAnswer> {
  const base = hubUrl.replace(/\/+$/, '');
  const targetUri = base + path;
  const bytes = body === undefined ? undefined : utf8(JSON.stringify(body));
  const headers = parleyRequestHeaders(na, { method, targetUri, ...(bytes ? { body: bytes } : {}) }, signKeyId(na, id.signPk), id.signSk);
  headers['Accept'] = 'application/json';
  const init: RequestInit = { method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error' };
  if (bytes) init.body = new Uint8Array(bytes); /* a copy over a plain ArrayBuffer */
  const r = await fetch(targetUri, init);
  const raw = await readCapped(r, 64 << 20);
  let parsed: JsonValue | null = null;
  try {
    parsed = parseJson(raw, { maxBytes: 64 << 20, maxDepth: 64, maxString: 1 << 20, maxItems: 10000000 });
  } catch (e) {
    if (!(e instanceof ParleyError)) throw e;
  }
  return { status: r.status, body: parsed };
}

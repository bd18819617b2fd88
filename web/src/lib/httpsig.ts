/* RFC 9421 HTTP Message Signatures (Ed25519) and RFC 9530 Content-Digest, built as
 * src/lib/httpsig/httpsig.c builds them and signed as `parley` signs (src/cli/http.c):
 * label "parley", components @method @target-uri [content-digest] [last-event-id],
 * parameters created, keyid, nonce (24 random bytes, base64url), alg="ed25519". */
import { fail } from './errors';
import { b64Encode, b64urlEncode, utf8 } from './encoding';
import type { Sodium } from './sodium';

export const LABEL = 'parley';
export const MAX_COMPONENTS = 16;
export const MAX_VALUE = 8192;
export const NONCE_MIN = 16;
export const NONCE_MAX = 128;
export const KEYID_MAX = 128;

/* A view of one request, as the signer is about to send it. */
export interface SignedRequest {
  method: string; /* "POST" */
  targetUri: string; /* absolute: scheme://authority/path?query */
  /* Field values by lower-case name (Content-Digest, Last-Event-ID, ...). */
  headers?: Record<string, string>;
}

export interface SignatureParams {
  created: number;
  keyid: string;
  nonce?: string;
  alg?: 'ed25519';
}

const DERIVED = ['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query'];

function componentNameOk(s: string): boolean {
  if (s.length === 0 || s.length > 64) return false;
  if (s[0] === '@') return DERIVED.includes(s);
  return /^[a-z0-9!#$%&'*+\-.^_`|~]+$/.test(s);
}

/* Printable ASCII, as an sf-string may hold. */
function sfStringOk(s: string, min: number, max: number): boolean {
  return s.length >= min && s.length <= max && /^[\x20-\x7e]*$/.test(s);
}

function sfString(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

/* The Signature-Input member value (without "label="): the @signature-params line. */
export function serializeParams(components: readonly string[], p: SignatureParams): string {
  let out = '(' + components.map(sfString).join(' ') + `);created=${p.created};keyid=${sfString(p.keyid)}`;
  if (p.nonce !== undefined) out += `;nonce=${sfString(p.nonce)}`;
  if (p.alg !== undefined) out += `;alg=${sfString(p.alg)}`;
  return out;
}

interface UriParts {
  scheme: string;
  authority: string;
  path: string;
  query: string | null; /* with its '?' */
}

function splitUri(uri: string): UriParts {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]+)([^?#]*)(\?[^#]*)?$/.exec(uri);
  if (!m) return fail('INVALID_ARGUMENT', `not an absolute URI without fragment: ${uri}`);
  return { scheme: m[1]!.toLowerCase(), authority: m[2]!, path: m[3]!, query: m[4] ?? null };
}

function line(name: string, v: string): string {
  if (utf8(v).length > MAX_VALUE) fail('INVALID_ARGUMENT', `component ${name} longer than ${MAX_VALUE} bytes`);
  /* A CR or LF would let a value forge extra lines of the signature base. */
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v)) fail('INVALID_ARGUMENT', `component ${name} holds a control character`);
  return `"${name}": ${v}\n`;
}

function derived(req: SignedRequest, name: string): string {
  const u = splitUri(req.targetUri);
  switch (name) {
    case '@method':
      return req.method;
    case '@target-uri':
      return req.targetUri;
    case '@scheme':
      return u.scheme;
    case '@authority': {
      /* RFC 9421 2.2.3: lower case, default port removed */
      let a = u.authority.toLowerCase();
      if (u.scheme === 'https' && a.endsWith(':443')) a = a.slice(0, -4);
      else if (u.scheme === 'http' && a.endsWith(':80')) a = a.slice(0, -3);
      return a;
    }
    case '@path':
      return u.path || '/';
    case '@request-target':
      return (u.path || '/') + (u.query ?? '');
    case '@query':
      return u.query ?? '?';
    default:
      return fail('INVALID_ARGUMENT', `component ${name} is not supported`);
  }
}

/* RFC 9421 2.5 signature base: one `"name": value` line per component, then the
 * @signature-params line, no final newline. */
export function signatureBase(req: SignedRequest, components: readonly string[], paramsRaw: string): string {
  let base = '';
  for (const name of components) {
    if (name[0] === '@') {
      base += line(name, derived(req, name));
    } else {
      const v = req.headers?.[name];
      if (v === undefined) fail('INVALID_ARGUMENT', `component ${name} not in request`);
      base += line(name, v.replace(/^[ \t]+|[ \t]+$/g, ''));
    }
  }
  return base + '"@signature-params": ' + paramsRaw;
}

export interface SignatureHeaders {
  'Signature-Input': string;
  Signature: string;
}

/* Signs req over components under `label` with an Ed25519 secret key (libsodium
 * form). With `alg` and no nonce given, a fresh nonce is drawn: Parley's profile. */
export function signRequest(
  na: Sodium,
  req: SignedRequest,
  components: readonly string[],
  sk: Uint8Array,
  params: SignatureParams,
  label: string = LABEL,
): SignatureHeaders {
  if (components.length === 0 || components.length > MAX_COMPONENTS)
    fail('INVALID_ARGUMENT', `1 to ${MAX_COMPONENTS} components`);
  components.forEach((c, i) => {
    if (!componentNameOk(c)) fail('INVALID_ARGUMENT', `bad component ${i}`);
    if (components.indexOf(c) !== i) fail('INVALID_ARGUMENT', `component ${c} is repeated`);
  });
  if (!sfStringOk(params.keyid, 1, KEYID_MAX)) fail('INVALID_ARGUMENT', 'bad keyid');
  if (!Number.isSafeInteger(params.created) || params.created < 0) fail('INVALID_ARGUMENT', 'bad created');
  if (params.nonce !== undefined && !sfStringOk(params.nonce, NONCE_MIN, NONCE_MAX)) fail('INVALID_ARGUMENT', 'bad nonce');
  const raw = serializeParams(components, params);
  const sig = na.crypto_sign_detached(utf8(signatureBase(req, components, raw)), sk);
  return { 'Signature-Input': `${label}=${raw}`, Signature: `${label}=:${b64Encode(sig)}:` };
}

/* RFC 9530 Content-Digest of a body: "sha-256=:<base64>:". */
export function contentDigest(na: Sodium, body: Uint8Array): string {
  return `sha-256=:${b64Encode(na.crypto_hash_sha256(body))}:`;
}

export interface ParleyRequest {
  method: string;
  targetUri: string;
  body?: Uint8Array; /* sent as application/json */
  lastEventId?: string;
}

/* The headers that authenticate a request to the hub, exactly as `parley` sends them:
 * Signature-Input, Signature, and with a body Content-Digest and Content-Type, with a
 * cursor Last-Event-ID (covered by the signature). */
export function parleyRequestHeaders(
  na: Sodium,
  req: ParleyRequest,
  keyid: string,
  sk: Uint8Array,
  now: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const fields: Record<string, string> = {};
  const components = ['@method', '@target-uri'];
  if (req.body !== undefined) {
    fields['content-digest'] = contentDigest(na, req.body);
    components.push('content-digest');
  }
  if (req.lastEventId !== undefined) {
    fields['last-event-id'] = req.lastEventId;
    components.push('last-event-id');
  }
  const nonce = b64urlEncode(na.randombytes_buf(24));
  const sig = signRequest(na, { method: req.method, targetUri: req.targetUri, headers: fields }, components, sk, {
    created: now,
    keyid,
    nonce,
    alg: 'ed25519',
  });
  const out: Record<string, string> = { ...sig };
  if (req.body !== undefined) {
    out['Content-Digest'] = fields['content-digest']!;
    out['Content-Type'] = 'application/json';
  }
  if (req.lastEventId !== undefined) out['Last-Event-ID'] = req.lastEventId;
  return out;
}

/* ParleyClient: the page's verified client. It follows docs/protocol.md §12 ("What a
 * client must verify") step by step, as `parley` does (src/cli/msg_verify.c, cmd_msg.c,
 * cmd_directory.c `cli_verified_record`, cmd_log.c `cli_accept_checkpoint`). Anything
 * not verified is either refused (Refusal, with one sentence an officer understands)
 * or handed back wrapped as the hub's unsigned word (HubWord). Trust state (pinned root
 * keys, the log key, the last checkpoint) lives in a TrustStore, as the CLI's home. */
import { b64Decode, b64urlDecode, b64urlEncode, fromUtf8, hexEncode, utf8 } from './encoding';
import { ackNew, ackVerify, envelopeHash, envelopeOpen, envelopeSeal, envelopeVerify, EnvelopeInfo, PRIORITIES, TLP_LABELS } from './envelope';
import { parleyRequestHeaders } from './httpsig';
import { readCapped } from './hub';
import { JsonObject, JsonValue, isJsonObject, jcsBytes, parseJson } from './json';
import { boxKeyId, Identity, signFingerprint, signKeyId, signPkFromB64 } from './keys';
import { recordVerify, RecordInfo, ROLES } from './record';
import { ParleyError } from './errors';
import { ProtoError, signedJsonVerify, stateCodeValid, textOk, timeParse, uuidValid, pocIdValid } from './signed';
import type { Sodium } from './sodium';
import { template, templates as compiledTemplates, validateContent as validate, Lang, LANGS, Template, TemplateField } from './templates';
import {
  Checkpoint,
  TlogError,
  checkpointParse,
  cosigVerifierParse,
  cosigVerify,
  dirExtParse,
  dirWitnessVerifierOf,
  dirWitnessVerify,
  entryLeafHash,
  equalBytes,
  leafHash,
  noteParse,
  noteVerifierParse,
  noteVerify,
  tlogProofParse,
  verifyConsistency,
  verifyInclusion,
  MAX_PROOF,
  DIR_WITNESS_ID,
} from './tlog';

export type { Lang, Template, TemplateField };
export { LANGS };

/* Something did not verify: the page must never show it as fact. */
export class Refusal extends Error {
  constructor(
    public code: string,
    public officer: string /* one plain English sentence an officer understands */,
    public detail?: string,
  ) {
    super(detail ? `${code}: ${officer} (${detail})` : `${code}: ${officer}`);
    this.name = 'Refusal';
  }
}

/* Where the trust state lives (pins, log key, last checkpoint, settings). */
export interface TrustStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
}

/* localStorage, namespaced per hub origin. */
export function browserTrustStore(hubOrigin: string): TrustStore {
  const prefix = `parley-trust:${hubOrigin}:`;
  return {
    get: (key) => localStorage.getItem(prefix + key),
    set: (key, value) => localStorage.setItem(prefix + key, value),
  };
}

/* A trust store in memory (tests, or a page that keeps nothing). */
export function memoryTrustStore(init?: Record<string, string>): TrustStore {
  const m = new Map<string, string>(Object.entries(init ?? {}));
  return { get: (k) => m.get(k) ?? null, set: (k, v) => void m.set(k, v) };
}

/* Keys of the trust store (each value JSON, or a plain string). */
export const TRUST_KEYS = {
  pins: 'pins' /* {CODE: {root_key, confirmed, version, accepted_replacement?}} */,
  logKey: 'log-key' /* the hub's note verifier key, pinned on first use */,
  checkpoint: 'checkpoint' /* the largest checkpoint note accepted */,
  witnesses: 'witnesses' /* [cosignature verifier keys], up to 8 */,
  witnessesRequired: 'witnesses-required' /* K, default 0 */,
  evidence: 'evidence' /* [{old, new, why, time}]: a misbehaving log */,
} as const;

/* The hub's unsigned claim: shown as such, never as verified fact. */
export interface HubWord<T> {
  hub: T;
}

export function templates(): Template[] {
  return compiledTemplates();
}

/* As libparley's parley_template_validate (every problem; the first is the one it names). */
export function validateContent(kind: string, content: Record<string, unknown>): { field: string; problem: string }[] {
  return validate(kind, content);
}

export interface VerifiedPoc {
  id: string;
  name: string;
  position?: string;
  organisation: string;
  roles: string[];
  email: string;
  phone: string;
  emergency_phone?: string;
  languages: string[];
  timezone: string;
  availability: string;
  signingKey: Uint8Array;
  keyId: string;
  encKey?: { key: Uint8Array; keyId: string; expires: string };
}

export interface TrustBadge {
  rootPinned: boolean /* the root key matches this browser's pin (or was pinned just now) */;
  rootConfirmed: boolean /* its fingerprint was confirmed out of band (trustFingerprint) */;
  firstContact: boolean /* pinned on trust just now: compare the fingerprint */;
  recordSignature: boolean;
  logInclusion: boolean;
  directoryCommitment: boolean;
  witnesses: { required: number; valid: number };
  operatorReplacement?: { reason: string; accepted: boolean; logIndex: number; time: string; operatorKeyId: string };
}

export interface VerifiedRecord {
  state: string;
  name: string /* the hub's word: the state's name is not in the signed record */;
  region: string /* the hub's word */;
  version: number;
  rootFingerprint: string;
  rootKey: string /* base64url, the served root key that verified */;
  record: any /* the verified JSON */;
  pocs: VerifiedPoc[];
  badge: TrustBadge;
  logIndex: number /* the record's entry, proven included */;
}

export interface InboxItem {
  seq: number;
  id: string;
  hub: Record<string, unknown> /* the listing object: unsigned */;
}

export interface ReceiptView {
  state: string;
  poc: string;
  time?: string;
  verified: boolean;
  reason?: string;
  logIndex?: number;
}

export interface Party {
  state: string;
  poc: string;
}

export interface LegalBasis {
  instrument: string;
  article: string;
}

export interface OpenedMessage {
  id: string;
  ping: boolean;
  header: {
    kind: string;
    priority: string;
    tlp: string;
    from: Party;
    recipients: Party[];
    case?: string;
    in_reply_to?: string;
    created: string;
    legal_basis?: LegalBasis;
  };
  body?: { language: string; content: Record<string, unknown> } /* when the caller is a recipient */;
  ackByState: Record<string, { acknowledged: boolean; time?: string }> /* §12.4 step 20 */;
  receipts: ReceiptView[];
  logIndex: number /* proven inclusion */;
  canAcknowledge: boolean;
  acknowledgedByMe: boolean;
  hub: Record<string, unknown> /* status, ack_deadline, overdue, history...: unsigned */;
  me: Party;
}

export interface Draft {
  kind: string;
  priority: 'routine' | 'urgent' | 'critical';
  tlp: string;
  recipients: Party[] /* poc: a POC id, or a role (every POC of the state with it) */;
  content: Record<string, unknown>;
  language: string;
  case?: string;
  in_reply_to?: string;
  legal_basis?: LegalBasis;
}

export type StreamState = 'connecting' | 'live' | 'retrying';

/* Control characters (C0, DEL, C1) of a hub string escaped as `parley` shows them
 * (\n, \t, \xNN, \u00NN); anything not a string is "(missing)", as cli_safe(cli_jstr()). */
export function safe(s: unknown): string {
  if (typeof s !== 'string') return '(missing)';
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    const n = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return n < 0x80 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/* ---- internals --------------------------------------------------------------------- */

interface Pin {
  root_key: string;
  confirmed: boolean;
  version: number;
  accepted_replacement?: number;
}

interface HubAnswer {
  status: number;
  text: string;
  json: JsonValue | null;
}

interface DirFact {
  checkpointSize: number;
  index: number;
  count: number;
  replacedAt: number; /* -1: never replaced by the operator */
  reason: string;
  operatorKey: string;
  replacedTime: string;
  witnesses: number;
}

/* Per-operation cache of verified records (as cli_record_cache: one run). */
/* Verified records fetched during one operation (current and earlier versions). */
export class RecordCache {
  current = new Map<string, Promise<VerifiedRecord>>();
  earlier = new Map<string, Promise<{ info: RecordInfo; logIndex: number } | null>>();
}

const EARLIER_VERSIONS_MAX = 32;
const ANSWER_MAX = 64 << 20;
const SSE_EVENT_MAX = 1 << 20 /* one event's data, all its data lines together */;
const SSE_LINE_MAX = (1 << 20) + 64 /* one line (a data line and its field name) */;
const ERROR_BODY_MAX = 64 << 10 /* the error answer of a refused stream */;

function str(o: unknown, k: string): string | undefined {
  if (!isJsonObject(o as JsonValue)) return undefined;
  const v = (o as JsonObject)[k];
  return typeof v === 'string' ? v : undefined;
}

function int(o: unknown, k: string): number | undefined {
  if (!isJsonObject(o as JsonValue)) return undefined;
  const v = (o as JsonObject)[k];
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

/* A plain copy of a parsed value (objects with a prototype, numbers as numbers), for the
 * UI. A member named "__proto__" is left out: assigned into a normal object it would set
 * the copy's prototype (and a later Object.assign of the copy, another object's). */
function plain(v: unknown): any {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    if ('text' in (v as object) && 'kind' in (v as object) && Object.keys(v as object).length === 2) return Number((v as { text: string }).text);
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v as object)) if (k !== '__proto__') o[k] = plain((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

function errDetail(e: unknown): string {
  if (e instanceof ProtoError) return `${e.code}: ${e.detail}`;
  if (e instanceof TlogError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export class ParleyClient {
  readonly base: string;
  private whoamiCache: Promise<{ role: string; state?: string; poc?: string }> | null = null;

  constructor(
    readonly na: Sodium,
    readonly hubUrl: string,
    readonly id: Identity,
    readonly trust: TrustStore,
  ) {
    this.base = hubUrl.replace(/\/+$/, '');
  }

  /* ---- HTTP ---- */

  private async request(method: string, path: string, opts: { body?: unknown; signed?: boolean; accept?: string } = {}): Promise<HubAnswer> {
    const targetUri = this.base + path;
    const bytes = opts.body === undefined ? undefined : utf8(JSON.stringify(opts.body));
    const headers: Record<string, string> = opts.signed === false ? {} : parleyRequestHeaders(this.na, { method, targetUri, ...(bytes ? { body: bytes } : {}) }, signKeyId(this.na, this.id.signPk), this.id.signSk);
    headers['Accept'] = opts.accept ?? 'application/json';
    const init: RequestInit = { method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error' };
    if (bytes) init.body = new Uint8Array(bytes);
    let r: Response;
    try {
      r = await fetch(targetUri, init);
    } catch (e) {
      throw new Refusal('HUB_UNREACHABLE', 'The hub could not be reached.', errDetail(e));
    }
    let raw: Uint8Array;
    try {
      raw = await readCapped(r, ANSWER_MAX);
    } catch (e) {
      if (e instanceof ParleyError) throw new Refusal('TOO_LARGE', 'The hub sent an answer too large to check.', `more than ${ANSWER_MAX} bytes`);
      throw new Refusal('HUB_UNREACHABLE', 'The connection to the hub broke while it answered.', errDetail(e));
    }
    let text = '';
    try {
      text = fromUtf8(raw);
    } catch {
      text = '';
    }
    let json: JsonValue | null = null;
    try {
      json = parseJson(raw, { maxBytes: ANSWER_MAX, maxDepth: 64, maxString: 4 << 20, maxItems: 10000000 });
    } catch {
      json = null;
    }
    return { status: r.status, text, json };
  }

  /* A hub error answer as a Refusal (its code, hint and detail are its word, escaped). */
  private hubError(a: HubAnswer, what: string): Refusal {
    const code = str(a.json, 'code');
    const hint = str(a.json, 'hint');
    const detail = str(a.json, 'detail');
    return new Refusal(code && /^[A-Z_]{1,64}$/.test(code) ? code : `HTTP_${a.status}`, `The hub refused ${what}${hint ? `: ${safe(hint)}` : ` (HTTP ${a.status})`}.`, detail ? safe(detail) : undefined);
  }

  private async getJson(path: string, what: string): Promise<JsonValue> {
    const a = await this.request('GET', path);
    if (a.status !== 200) throw this.hubError(a, what);
    if (a.json === null) throw new Refusal('HUB_ANSWER', `The hub's answer to ${what} is not valid JSON.`);
    return a.json;
  }

  private async getPublic(path: string, what: string): Promise<string> {
    const a = await this.request('GET', path, { signed: false, accept: 'text/plain' });
    if (a.status !== 200) throw this.hubError(a, what);
    return a.text;
  }

  /* ---- trust state ---- */

  private loadJson<T>(key: string, dflt: T): T {
    const s = this.trust.get(key);
    if (s === null) return dflt;
    try {
      return JSON.parse(s) as T;
    } catch {
      throw new Refusal('TRUST_STORE', `This browser's saved trust state (${key}) is corrupt; clear it and confirm the states' fingerprints again.`);
    }
  }

  private witnessConfig(): { keys: ReturnType<typeof cosigVerifierParse>[]; required: number } {
    const list = this.loadJson<string[]>(TRUST_KEYS.witnesses, []);
    const required = Number(this.trust.get(TRUST_KEYS.witnessesRequired) ?? '0');
    const keys = (Array.isArray(list) ? list : []).slice(0, 8).map((k) => {
      try {
        return cosigVerifierParse(this.na, k);
      } catch (e) {
        throw new Refusal('CONFIG', `A configured witness key is not valid: ${safe(k)}.`, errDetail(e));
      }
    });
    if (!Number.isSafeInteger(required) || required < 0 || required > keys.length) throw new Refusal('CONFIG', `The setting requires ${required} witnesses, but ${keys.length} are configured.`);
    return { keys, required };
  }

  /* The hub's note verifier, pinned on first use (as hub_verifier). */
  private async logVerifier() {
    const pinned = this.trust.get(TRUST_KEYS.logKey);
    const served = (await this.getPublic('/log/key', "its log key")).split('\n')[0] ?? '';
    if (pinned !== null && pinned !== served) throw new Refusal('LOG_KEY_CHANGED', "The hub's transparency-log key changed since this browser pinned it: nothing it proves can be trusted.", `pinned ${safe(pinned)}, served ${safe(served)}`);
    let v;
    try {
      v = noteVerifierParse(this.na, served);
    } catch (e) {
      throw new Refusal('LOG_KEY', "The hub's transparency-log key is not valid.", errDetail(e));
    }
    if (pinned === null) this.trust.set(TRUST_KEYS.logKey, served);
    return v;
  }

  /* The hub's Ed25519 key (communication checks, §12 step 6). */
  async hubKey(): Promise<Uint8Array> {
    return (await this.logVerifier()).publicKey;
  }

  private saveEvidence(oldNote: string, newNote: string, why: string): void {
    const list = this.loadJson<unknown[]>(TRUST_KEYS.evidence, []);
    list.push({ old: oldNote, new: newNote, why, time: new Date().toISOString() });
    this.trust.set(TRUST_KEYS.evidence, JSON.stringify(list.slice(-20)));
  }

  /* As cli_accept_checkpoint: the pinned log key's signature, consistency with the
   * largest checkpoint seen, K of N witnesses (cosignature and directory statement). */
  async acceptCheckpoint(note: string): Promise<{ cp: Checkpoint; witnesses: number }> {
    const v = await this.logVerifier();
    let n, cp: Checkpoint;
    try {
      n = noteParse(note);
      noteVerify(this.na, n, v);
    } catch (e) {
      throw new Refusal('CHECKPOINT_SIGNATURE', "The hub's checkpoint is not signed by its pinned log key.", errDetail(e));
    }
    try {
      cp = checkpointParse(n.text);
    } catch (e) {
      throw new Refusal('CHECKPOINT', "The hub's checkpoint is malformed.", errDetail(e));
    }
    if (cp.origin !== v.name) throw new Refusal('CHECKPOINT', `The checkpoint is of log '${safe(cp.origin)}', not of this hub's log '${safe(v.name)}'.`);
    const old = this.trust.get(TRUST_KEYS.checkpoint);
    if (old !== null) {
      let ocp: Checkpoint;
      try {
        ocp = checkpointParse(noteParse(old).text);
      } catch {
        throw new Refusal('TRUST_STORE', "The checkpoint this browser saved is corrupt; clear this browser's trust state.");
      }
      const [a, b] = cp.size < ocp.size ? [cp, ocp] : [ocp, cp];
      if (a.size > 0 && a.size === b.size) {
        if (!equalBytes(a.root, b.root)) {
          this.saveEvidence(old, note, 'two checkpoints of the same size with different roots');
          throw new Refusal('LOG_MISBEHAVIOUR', `The hub's transparency log shows two different histories of ${a.size} entries: it cannot be trusted (evidence kept in this browser).`);
        }
      } else if (a.size > 0) {
        const ans = await this.request('GET', `/log/consistency?from=${a.size}&to=${b.size}`, { signed: false });
        let ok = false;
        const arr = isJsonObject(ans.json) ? ans.json['proof'] : undefined;
        if (ans.status === 200 && Array.isArray(arr) && arr.length <= MAX_PROOF) {
          try {
            verifyConsistency(this.na, a.size, b.size, a.root, b.root, arr.map((h) => b64Decode(h as string)));
            ok = true;
          } catch {
            ok = false;
          }
        }
        if (!ok) {
          this.saveEvidence(old, note, 'no valid consistency proof between the two checkpoints');
          throw new Refusal('LOG_MISBEHAVIOUR', `The hub's transparency log of ${b.size} entries is not consistent with the one of ${a.size} entries seen before: its history was rewritten or forked (evidence kept in this browser).`);
        }
      }
    }
    const w = this.witnessConfig();
    let cosigned = 0;
    let vouched = 0;
    for (const k of w.keys) {
      try {
        cosigVerify(this.na, n, k);
      } catch {
        continue;
      }
      cosigned++;
      try {
        dirWitnessVerify(this.na, n, dirWitnessVerifierOf(this.na, k));
        vouched++;
      } catch {
        /* cosigned only */
      }
    }
    if (cosigned < w.required) throw new Refusal('WITNESSES', `The hub's checkpoint of ${cp.size} entries carries ${cosigned} valid witness cosignature${cosigned === 1 ? '' : 's'}; ${w.required} are required.`);
    if (vouched < w.required) throw new Refusal('WITNESSES', `The hub's checkpoint of ${cp.size} entries carries ${vouched} valid directory statement${vouched === 1 ? '' : 's'} (${DIR_WITNESS_ID}) of the configured witnesses; ${w.required} are required.`);
    const latest = this.trust.get(TRUST_KEYS.checkpoint);
    let latestSize = -1;
    try {
      latestSize = latest === null ? -1 : checkpointParse(noteParse(latest).text).size;
    } catch {
      latestSize = -1;
    }
    if (cp.size > latestSize) this.trust.set(TRUST_KEYS.checkpoint, note);
    return { cp, witnesses: vouched };
  }

  /* As cli_verify_inclusion: the tlog-proof for a leaf, its checkpoint accepted, the
   * inclusion proof verified. Throws a Refusal naming `what`. */
  async proveIncluded(leaf: Uint8Array, what: string): Promise<{ index: number; size: number; witnesses: number }> {
    const a = await this.request('GET', `/log/proof?leaf=${b64urlEncode(leaf)}`, { signed: false, accept: 'text/plain' });
    if (a.status !== 200) throw new Refusal('NOT_IN_LOG', `${what} is not provably in the hub's transparency log.`, `HTTP ${a.status}`);
    let p;
    try {
      p = tlogProofParse(a.text);
    } catch (e) {
      throw new Refusal('NOT_IN_LOG', `${what} is not provably in the hub's transparency log.`, errDetail(e));
    }
    const { cp, witnesses } = await this.acceptCheckpoint(p.note);
    try {
      verifyInclusion(this.na, p.index, cp.size, leaf, p.proof, cp.root);
    } catch (e) {
      throw new Refusal('NOT_IN_LOG', `${what} is not provably in the hub's transparency log.`, errDetail(e));
    }
    return { index: p.index, size: cp.size, witnesses };
  }

  /* ---- the directory (§12.2) ---- */

  async whoami(): Promise<{ role: string; state?: string; poc?: string }> {
    const v = await this.getJson('/v1/whoami', 'to say who this key is');
    const out: { role: string; state?: string; poc?: string } = { role: str(v, 'role') ?? '(missing)' };
    const s = str(v, 'state');
    const p = str(v, 'poc');
    if (s !== undefined) out.state = s;
    if (p !== undefined) out.poc = p;
    return out;
  }

  /* This key's (state, poc): the hub names it (whoami), and it is believed only if that
   * state's verified record gives that POC this key file's signing key and encryption
   * key; the hub's word alone could make this key sign as another officer. */
  private async me(cache: RecordCache): Promise<Party> {
    if (!this.whoamiCache) this.whoamiCache = this.whoami();
    let w;
    try {
      w = await this.whoamiCache;
    } finally {
      this.whoamiCache = null; /* asked afresh each operation */
    }
    if (!stateCodeValid(w.state) || typeof w.poc !== 'string' || !pocIdValid(w.poc)) throw new Refusal('NOT_OFFICER', `This key is not a point of contact's key (the hub says its role is ${safe(w.role)}).`);
    const rec = await this.cachedRecord(cache, w.state!);
    const mine = rec.pocs.find((p) => p.id === w.poc && this.na.memcmp(p.signingKey, this.id.signPk) && p.encKey !== undefined && this.na.memcmp(p.encKey.key, this.id.boxPk));
    if (!mine)
      throw new Refusal(
        'NOT_THIS_KEY',
        `The hub says this key is ${w.state}/${safe(w.poc)}, but ${w.state}'s verified record gives ${w.state}/${safe(w.poc)} other keys (or has no such point of contact): nothing is done as ${w.state}/${safe(w.poc)}.`,
      );
    return { state: w.state!, poc: w.poc };
  }

  /* A signed GET of any hub path, its answer as is (the hub's word): for diagnostics. */
  async hubGet(path: string): Promise<{ status: number; text: string }> {
    if (!path.startsWith('/')) throw new Refusal('INVALID_ARGUMENT', 'A hub path starts with /.');
    const a = await this.request('GET', path);
    return { status: a.status, text: a.text };
  }

  async states(): Promise<HubWord<any[]>> {
    const v = await this.getJson('/v1/states', 'the list of states');
    const list = isJsonObject(v) ? v['states'] : v;
    return { hub: Array.isArray(list) ? plain(list) : [] };
  }

  async search(q: { state?: string; region?: string; role?: string; language?: string; name?: string }): Promise<HubWord<any[]>> {
    const params = new URLSearchParams();
    for (const k of ['state', 'region', 'role', 'language', 'name'] as const) {
      const v = q[k];
      if (v) params.set(k, v.slice(0, 200));
    }
    const v = await this.getJson(`/v1/directory/search?${params.toString()}`, 'the directory search');
    const list = isJsonObject(v) ? (v['pocs'] ?? v['results']) : v;
    return { hub: Array.isArray(list) ? plain(list) : [] };
  }

  async exportDirectory(format: 'json' | 'csv' | 'vcard'): Promise<Blob> {
    const a = await this.request('GET', `/v1/directory/export?format=${format}`, { accept: '*/*' });
    if (a.status !== 200) throw this.hubError(a, 'the directory export');
    const type = format === 'json' ? 'application/json' : format === 'csv' ? 'text/csv' : 'text/vcard';
    return new Blob([a.text], { type });
  }

  private rootKeyOf(st: JsonValue, code: string): { b64: string; pk: Uint8Array } {
    const b64 = str(st, 'root_key');
    try {
      if (b64 === undefined) throw new Error('missing');
      return { b64, pk: signPkFromB64(this.na, b64) };
    } catch {
      throw new Refusal('ROOT_KEY', `The hub sent no valid root key for ${code}.`);
    }
  }

  /* 5a and 5c: the state's leaf in the checkpoint's directory commitment. */
  private async verifyCommitment(st: JsonValue, code: string, rootB64: string, info: RecordInfo, rec: JsonObject): Promise<DirFact> {
    const d = isJsonObject(st) ? st['directory'] : undefined;
    const note = str(d, 'checkpoint');
    const index = int(d, 'index');
    const count = int(d, 'count');
    const proofV = isJsonObject(d) ? d['proof'] : undefined;
    const rep = isJsonObject(d) ? d['root_replaced_at'] : undefined;
    if (note === undefined || index === undefined || count === undefined || !Array.isArray(proofV) || index < 0 || count <= index || proofV.length > MAX_PROOF || (rep !== undefined && !(typeof rep === 'number' && Number.isSafeInteger(rep))))
      throw new Refusal('DIRECTORY_PROOF', `The hub sent no valid directory proof for ${code}.`);
    const { cp, witnesses } = await this.acceptCheckpoint(note);
    let dir;
    try {
      dir = dirExtParse(cp);
    } catch (e) {
      throw new Refusal('DIRECTORY_PROOF', "The hub's checkpoint commits to no directory.", errDetail(e));
    }
    if (dir.count !== count) throw new Refusal('DIRECTORY_PROOF', `The directory proof for ${code} is for ${count} states, but the checkpoint commits to ${dir.count}.`);
    let proof: Uint8Array[];
    try {
      proof = proofV.map((h) => {
        const b = b64Decode(h as string);
        if (b.length !== 32) throw new Error('hash');
        return b;
      });
    } catch {
      throw new Refusal('DIRECTORY_PROOF', `The hub sent a malformed directory proof for ${code}.`);
    }
    const replacedAt = rep === undefined ? -1 : (rep as number);
    const leafObj: Record<string, unknown> = { state: code, version: info.version, root_key: rootB64, record_sha256: b64urlEncode(this.na.crypto_hash_sha256(jcsBytes(rec))) };
    if (replacedAt >= 0) leafObj['root_replaced_at'] = replacedAt;
    try {
      verifyInclusion(this.na, index, count, leafHash(this.na, jcsBytes(leafObj)), proof, dir.root);
    } catch {
      throw new Refusal(
        'DIRECTORY_COMMITMENT',
        `${code}'s root key and record version ${info.version} are not what the hub's log commits to: the hub may be showing you an old record, or keys that others do not see.`,
        `checkpoint of ${cp.size} entries`,
      );
    }
    const f: DirFact = { checkpointSize: cp.size, index, count, replacedAt, reason: '', operatorKey: '', replacedTime: '', witnesses };
    if (replacedAt >= 0) await this.verifyReplacement(st, code, f);
    return f;
  }

  private async verifyReplacement(st: JsonValue, code: string, f: DirFact): Promise<void> {
    const r = isJsonObject(st) ? st['root_replacement'] : undefined;
    const entry = str(r, 'entry');
    const idx = int(r, 'index');
    if (entry === undefined || idx !== f.replacedAt) throw new Refusal('ROOT_REPLACEMENT', `The directory says ${code}'s root key was replaced by the hub's operator (log entry ${f.replacedAt}), but the hub does not show that entry.`);
    const bytes = utf8(entry);
    let li;
    try {
      li = await this.proveIncluded(leafHash(this.na, bytes), `The operator's replacement of ${code}'s root key`);
    } catch (e) {
      throw new Refusal('ROOT_REPLACEMENT', `The operator's replacement of ${code}'s root key is not provably log entry ${f.replacedAt}.`, errDetail(e));
    }
    if (li.index !== f.replacedAt) throw new Refusal('ROOT_REPLACEMENT', `The operator's replacement of ${code}'s root key is not provably log entry ${f.replacedAt}.`);
    let o: JsonValue | null = null;
    if (entry.startsWith('directory\n')) {
      try {
        o = parseJson(entry.slice(10));
      } catch {
        o = null;
      }
    }
    const ok = str(o, 'action') === 'replace-root' && str(o, 'state') === code && str(o, 'reason') !== undefined && str(o, 'operator_key_id') !== undefined && str(o, 'time') !== undefined;
    let keyOk = false;
    try {
      signPkFromB64(this.na, str(o, 'root_key') ?? '');
      keyOk = true;
    } catch {
      keyOk = false;
    }
    if (!ok || !keyOk) throw new Refusal('ROOT_REPLACEMENT', `Log entry ${f.replacedAt} is not an operator replacement of ${code}'s root key.`);
    f.reason = str(o, 'reason')!;
    f.operatorKey = str(o, 'operator_key_id')!;
    f.replacedTime = str(o, 'time')!;
  }

  /* 5b: pins, rollback, operator replacement (check_pin). */
  private checkPin(code: string, rootB64: string, rootPk: Uint8Array, version: number, f: DirFact, opts: { trustFingerprint?: string; allowFlagged?: boolean }): { first: boolean; pin: Pin } {
    const pins = this.loadJson<Record<string, Pin | string>>(TRUST_KEYS.pins, {});
    let pin = pins[code];
    if (typeof pin === 'string') pin = { root_key: pin, confirmed: false, version: 0 };
    const fpr = signFingerprint(this.na, rootPk);
    const disp = fpr.replace(/(.{4})(?=.)/g, '$1 ');
    let first = false;
    if (opts.trustFingerprint !== undefined) {
      const want = opts.trustFingerprint.toLowerCase().replace(/[^0-9a-f]/g, '');
      if (want !== fpr) throw new Refusal('FINGERPRINT_MISMATCH', `The hub shows ${code}'s root key with fingerprint ${disp}, not the one you checked: do not use ${code}'s entry until this is resolved with ${code}.`);
      pin = { root_key: rootB64, confirmed: true, version: Math.max(version, pin?.version ?? 0) };
      if (f.replacedAt >= 0) pin.accepted_replacement = f.replacedAt;
    } else if (!pin) {
      first = true;
      pin = { root_key: rootB64, confirmed: false, version };
    } else if (pin.root_key !== rootB64) {
      throw new Refusal(
        'ROOT_KEY_CHANGED',
        `The hub now shows a different root key for ${code} than the one this browser pinned${f.replacedAt >= 0 ? " (the hub's log says the operator replaced it)" : ''}: if ${code} changed its key, confirm the new fingerprint ${disp} with ${code} out of band, then trust it.`,
        `pinned ${safe(pin.root_key)}, served ${safe(rootB64)}`,
      );
    } else if (version < pin.version) {
      throw new Refusal('RECORD_ROLLBACK', `The hub serves version ${version} of ${code}'s record, but this browser has seen version ${pin.version}: an old record (with keys ${code} may have revoked) is being replayed.`);
    } else if (version > pin.version) {
      pin = { ...pin, version };
    }
    if (f.replacedAt >= 0 && opts.trustFingerprint === undefined && pin.accepted_replacement !== f.replacedAt && !opts.allowFlagged) {
      if (first) {
        pins[code] = pin;
        this.trust.set(TRUST_KEYS.pins, JSON.stringify(pins));
      }
      throw new Refusal(
        'ROOT_REPLACED',
        `${code}'s root key was replaced by the hub's operator, not by ${code} (the operator's logged reason: "${safe(f.reason)}"): confirm the new fingerprint ${disp} with ${code} out of band and accept it before using ${code}'s entry.`,
        `log entry ${f.replacedAt}, ${safe(f.replacedTime)}, operator key ${safe(f.operatorKey)}`,
      );
    }
    pins[code] = pin;
    this.trust.set(TRUST_KEYS.pins, JSON.stringify(pins));
    return { first, pin };
  }

  /* One fetch of the state and its current record, checked against each other, the
   * directory commitment and the log (the record's entry proven included), then the
   * pins (fetch_current): a pin is written only once every other check passed. null: the
   * version changed between the two requests. */
  private async fetchCurrent(code: string, opts: { trustFingerprint?: string; allowFlagged?: boolean }) {
    const st = await this.getJson(`/v1/states/${code}`, `to show ${code}'s directory entry`);
    const root = this.rootKeyOf(st, code);
    const rec = await this.getJson(`/v1/states/${code}/record`, `to show ${code}'s record`);
    let info: RecordInfo;
    try {
      info = recordVerify(this.na, rec, root.pk, Math.floor(Date.now() / 1000));
    } catch (e) {
      throw new Refusal(e instanceof ProtoError ? e.code : 'RECORD_INVALID', `${code}'s directory record does not verify with its root key.`, errDetail(e));
    }
    if (info.state !== code) throw new Refusal('RECORD_STATE', `The hub served a record of ${info.state} for ${code}.`);
    if (int(st, 'version') !== info.version) return null;
    const f = await this.verifyCommitment(st, code, root.b64, info, rec as JsonObject);
    const li = await this.proveIncluded(entryLeafHash(this.na, 'state-record', jcsBytes(rec)), `${code}'s record`);
    const { first, pin } = this.checkPin(code, root.b64, root.pk, info.version, f, opts);
    return { st, rec: rec as JsonObject, info, root, f, first, pin, li };
  }

  /* §12.2 step 5 with 5a-5d, as cli_verified_record. With allowFlagged, a state whose
   * root key the operator replaced is returned (badge.operatorReplacement.accepted
   * false) instead of refused: to show it with the warning, never to act on it. */
  async verifiedRecord(code: string, opts: { allowFlagged?: boolean; trustFingerprint?: string } = {}): Promise<VerifiedRecord> {
    if (!stateCodeValid(code)) throw new Refusal('INVALID_ARGUMENT', `"${safe(code)}" is not a state code (three capital letters, e.g. EST).`);
    let cur = await this.fetchCurrent(code, opts);
    if (!cur) cur = await this.fetchCurrent(code, opts);
    if (!cur) throw new Refusal('RECORD_CHANGED', `${code}'s record changed twice while it was read; try again.`);
    const li = cur.li;
    const w = this.witnessConfig();
    const badge: TrustBadge = {
      rootPinned: true,
      rootConfirmed: cur.pin.confirmed,
      firstContact: cur.first,
      recordSignature: true,
      logInclusion: true,
      directoryCommitment: true,
      witnesses: { required: w.required, valid: Math.min(cur.f.witnesses, li.witnesses) },
    };
    if (cur.f.replacedAt >= 0)
      badge.operatorReplacement = { reason: cur.f.reason, accepted: cur.pin.accepted_replacement === cur.f.replacedAt, logIndex: cur.f.replacedAt, time: cur.f.replacedTime, operatorKeyId: cur.f.operatorKey };
    return {
      state: code,
      name: str(cur.st, 'name') ?? '(missing)',
      region: str(cur.st, 'region') ?? '(missing)',
      version: cur.info.version,
      rootFingerprint: signFingerprint(this.na, cur.root.pk),
      rootKey: cur.root.b64,
      record: plain(cur.rec),
      pocs: cur.info.pocs.map((p) => ({ ...p, encKey: p.encKey })),
      badge,
      logIndex: li.index,
    };
  }

  /* Like `parley directory trust CODE FINGERPRINT`: pins the root key as confirmed out
   * of band (and accepts an operator replacement), if the fingerprint is the served one. */
  async trustFingerprint(code: string, fingerprintHex: string): Promise<void> {
    await this.verifiedRecord(code, { trustFingerprint: fingerprintHex, allowFlagged: true });
  }

  /* An earlier version of a state's record, verified with the current root key and
   * proven in the log (for receipts signed before a key rotation). null: not usable. */
  private async earlierRecord(cache: RecordCache, code: string, version: number, root: Uint8Array): Promise<{ info: RecordInfo; logIndex: number } | null> {
    const k = `${code}/${version}`;
    let p = cache.earlier.get(k);
    if (!p) {
      p = (async () => {
        try {
          const rec = await this.getJson(`/v1/states/${code}/records/${version}`, `version ${version} of ${code}'s record`);
          const info = recordVerify(this.na, rec, root, 0 /* an old encryption key may have expired */);
          /* the version asked for: else a hub could answer with one still holding a removed key */
          if (info.state !== code || info.version !== version) return null;
          const li = await this.proveIncluded(entryLeafHash(this.na, 'state-record', jcsBytes(rec)), `Version ${version} of ${code}'s record`);
          return { info, logIndex: li.index };
        } catch {
          return null;
        }
      })();
      cache.earlier.set(k, p);
    }
    return p;
  }

  private cachedRecord(cache: RecordCache, code: string): Promise<VerifiedRecord> {
    let p = cache.current.get(code);
    if (!p) {
      p = this.verifiedRecord(code);
      cache.current.set(code, p);
    }
    return p;
  }

  /* The signing key key_id of state/poc: current record, or (earlierOk) an earlier
   * version v. validBefore is then the log index of version v+1's record, the first
   * without the key: only what was logged before it may be signed with that key
   * (Infinity for a current key). The search stops at a version that does not verify. */
  private async pocSigningKey(cache: RecordCache, state: string, poc: string, keyId: string, earlierOk: boolean): Promise<{ pk: Uint8Array; validBefore: number } | null> {
    const cur = await this.cachedRecord(cache, state);
    const p = cur.pocs.find((x) => x.id === poc && x.keyId === keyId);
    if (p) return { pk: p.signingKey, validBefore: Infinity };
    if (!earlierOk) return null;
    const root = signPkFromB64(this.na, cur.rootKey);
    let later = cur.logIndex;
    for (let v = cur.version - 1, k = 0; v >= 1 && k < EARLIER_VERSIONS_MAX; v--, k++) {
      const e = await this.earlierRecord(cache, state, v, root);
      if (!e || e.logIndex >= later) return null; /* each version logged before the next */
      const q = e.info.pocs.find((x) => x.id === poc && x.keyId === keyId);
      if (q) return { pk: q.signingKey, validBefore: later };
      later = e.logIndex;
    }
    return null;
  }

  /* As cli_poc_key_logged: the signing key keyId of state/poc that the state's verified
   * records held when an object signed with it was logged at entry `logged` (the caller
   * proves that inclusion first). A key in the current record, or in an earlier version
   * whose successor was logged after `logged`, counts: a key removed from the record signs
   * nothing logged after its removal (the receipts' rule, pocSigningKey). Else pk is null,
   * removedAt the log entry of the first record without the key (null: no verified record
   * holds it). Throws a Refusal when the state's current record does not verify. */
  async keyWhenLogged(state: string, poc: string, keyId: string, logged: number, cache: RecordCache = new RecordCache()): Promise<{ pk: Uint8Array } | { pk: null; removedAt: number | null }> {
    const key = await this.pocSigningKey(cache, state, poc, keyId, true);
    if (!key) return { pk: null, removedAt: null };
    if (logged >= key.validBefore) return { pk: null, removedAt: key.validBefore };
    return { pk: key.pk };
  }

  /* ---- messages (§12.3, §12.4) ---- */

  private listing(v: JsonValue): { items: InboxItem[]; next: number } {
    const list = isJsonObject(v) ? v['messages'] : undefined;
    const items: InboxItem[] = [];
    if (Array.isArray(list))
      for (const m of list.slice(0, 100000)) {
        if (!isJsonObject(m)) continue;
        const id = m['id'];
        const seq = m['seq'];
        items.push({ seq: typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : -1, id: typeof id === 'string' && uuidValid(id) ? id : '', hub: plain(m) });
      }
    const next = int(v, 'next');
    return { items, next: next ?? (items.length ? Math.max(...items.map((i) => i.seq)) : 0) };
  }

  async inbox(after?: number, limit?: number): Promise<{ items: InboxItem[]; next: number }> {
    const q = new URLSearchParams();
    if (after !== undefined) q.set('after', String(Math.max(0, Math.floor(after))));
    if (limit !== undefined) q.set('limit', String(Math.max(1, Math.floor(limit))));
    return this.listing(await this.getJson(`/v1/inbox${q.toString() ? `?${q}` : ''}`, 'the inbox'));
  }

  async outbox(after?: number, limit?: number): Promise<{ items: InboxItem[]; next: number }> {
    const q = new URLSearchParams();
    if (after !== undefined) q.set('after', String(Math.max(0, Math.floor(after))));
    if (limit !== undefined) q.set('limit', String(Math.max(1, Math.floor(limit))));
    return this.listing(await this.getJson(`/v1/outbox${q.toString() ? `?${q}` : ''}`, 'the sent messages'));
  }

  /* The inbox as Server-Sent Events over fetch() (EventSource cannot sign): each
   * connection signed afresh, resumed with a signed Last-Event-ID, dropped after three
   * missed keep-alives and 5 s (as `parley inbox --follow`), reconnected with back-off.
   * Returns the function that stops it. */
  stream(after: number | null, on: { item(i: InboxItem): void; state(s: StreamState, why?: string): void }): () => void {
    let stopped = false;
    let ctrl: AbortController | null = null;
    let last: string | null = after === null ? null : String(after);
    let backoff = 1;
    const run = async () => {
      while (!stopped) {
        on.state('connecting');
        ctrl = new AbortController();
        let idleMs = 60000;
        let timer: ReturnType<typeof setTimeout> | null = null;
        const arm = () => {
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => ctrl?.abort(), idleMs);
        };
        let why = 'the connection ended';
        let fatal = false;
        try {
          const path = '/v1/inbox/stream';
          const targetUri = this.base + path;
          const headers = parleyRequestHeaders(this.na, { method: 'GET', targetUri, ...(last !== null ? { lastEventId: last } : {}) }, signKeyId(this.na, this.id.signPk), this.id.signSk);
          headers['Accept'] = 'text/event-stream';
          arm();
          const r = await fetch(targetUri, { method: 'GET', headers, credentials: 'omit', cache: 'no-store', redirect: 'error', signal: ctrl.signal });
          if (r.status !== 200 || !r.body) {
            let code = `HTTP ${r.status}`;
            try {
              code = str(parseJson(await readCapped(r, ERROR_BODY_MAX)), 'code') ?? code;
            } catch {
              /* not JSON, or too long */
            }
            why = `the hub refused the stream (${safe(code)})`;
            fatal = r.status !== 429 && r.status !== 503;
          } else {
            const reader = r.body.getReader();
            const dec = new TextDecoder();
            let buf = '';
            let evBytes = 0; /* the current event's data so far */
            let ev = { event: 'message', data: [] as string[], id: null as string | null };
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              arm();
              buf += dec.decode(value, { stream: true });
              let nl;
              while ((nl = buf.indexOf('\n')) >= 0) {
                if (nl > SSE_LINE_MAX) throw new Error(`a line of the stream is longer than ${SSE_LINE_MAX} characters`);
                const line = buf.slice(0, nl).replace(/\r$/, '');
                buf = buf.slice(nl + 1);
                if (line === '') {
                  if (ev.data.length) {
                    let v: JsonValue | null = null;
                    try {
                      v = parseJson(ev.data.join('\n'));
                    } catch {
                      v = null;
                    }
                    if (ev.id !== null && /^[0-9]{1,16}$/.test(ev.id)) last = ev.id;
                    if (ev.event === 'ready') {
                      backoff = 1;
                      const ka = int(v, 'keepalive_s');
                      if (ka !== undefined && ka > 0 && ka < 3600) idleMs = (ka * 3 + 5) * 1000;
                      arm();
                      on.state('live');
                    } else if (ev.event === 'message' && isJsonObject(v)) {
                      const id = v['id'];
                      const seq = v['seq'];
                      on.item({ seq: typeof seq === 'number' ? seq : -1, id: typeof id === 'string' && uuidValid(id) ? id : '', hub: plain(v) });
                    }
                  }
                  ev = { event: 'message', data: [], id: null };
                  evBytes = 0;
                } else if (line.startsWith(':')) {
                  /* keep-alive */
                } else {
                  const c = line.indexOf(':');
                  const field = c < 0 ? line : line.slice(0, c);
                  const val = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
                  if (field === 'event') ev.event = val;
                  else if (field === 'data') {
                    evBytes += val.length + 1;
                    if (evBytes > SSE_EVENT_MAX) throw new Error(`an event of the stream carries more than ${SSE_EVENT_MAX} characters of data`);
                    ev.data.push(val);
                  }
                  else if (field === 'id') ev.id = val;
                }
              }
              if (buf.length > SSE_LINE_MAX) throw new Error(`a line of the stream is longer than ${SSE_LINE_MAX} characters`);
            }
          }
        } catch (e) {
          why = stopped ? 'stopped' : `the connection was lost (${errDetail(e)})`;
        } finally {
          if (timer) clearTimeout(timer);
        }
        if (stopped) break;
        if (fatal) {
          on.state('retrying', `${why}; not retrying`);
          break;
        }
        on.state('retrying', `${why}; reconnecting in ${backoff} s`);
        await new Promise((res) => setTimeout(res, backoff * 1000));
        backoff = Math.min(backoff * 2, 30);
      }
    };
    void run();
    return () => {
      stopped = true;
      ctrl?.abort();
    };
  }

  /* §12.3 steps 7-13 and §12.4 steps 14-20. */
  async open(id: string): Promise<OpenedMessage> {
    const { env, hash, targets, ...m } = await this.openWith(new RecordCache(), id);
    void env;
    void hash;
    void targets;
    return m;
  }

  /* The witnesses this browser requires (like the CLI's witness and witnesses_required
   * settings): cosignature verifier keys, up to 8, and K of them. */
  setWitnesses(keys: string[], required: number): void {
    if (keys.length > 8 || !Number.isSafeInteger(required) || required < 0 || required > keys.length) throw new Refusal('CONFIG', `Require between 0 and ${Math.min(keys.length, 8)} witnesses of at most 8.`);
    for (const k of keys) {
      try {
        cosigVerifierParse(this.na, k);
      } catch (e) {
        throw new Refusal('CONFIG', `A witness key is not valid: ${safe(k)}.`, errDetail(e));
      }
    }
    this.trust.set(TRUST_KEYS.witnesses, JSON.stringify(keys));
    this.trust.set(TRUST_KEYS.witnessesRequired, String(required));
  }

  private async openWith(cache: RecordCache, id: string): Promise<OpenedMessage & { env: JsonObject; hash: Uint8Array; targets: Party[] }> {
    if (!uuidValid(id)) throw new Refusal('INVALID_ARGUMENT', `"${safe(id)}" is not a message id.`);
    const msg = await this.getJson(`/v1/messages/${id}`, `to show message ${id}`);
    if (!isJsonObject(msg)) throw new Refusal('HUB_ANSWER', `The hub's answer for message ${id} is not an object.`);
    const env = msg['envelope'];
    if (!isJsonObject(env)) throw new Refusal('NO_ENVELOPE', `The hub served no signed envelope for message ${id}.`);
    const me = await this.me(cache);
    let header: OpenedMessage['header'];
    let hash: Uint8Array;
    let ping = false;
    let body: OpenedMessage['body'];
    let kindForLeaf = 'envelope';
    if (env['format'] === 'parley-ping-v1') {
      ping = true;
      kindForLeaf = 'ping';
      const hub = await this.hubKey();
      if (!signedJsonVerify(this.na, env, 'ping', hub)) throw new Refusal('PING_SIGNATURE', `The communication check ${id} is not signed by the hub's key.`);
      const sid = str(env, 'id');
      if (sid !== id) throw new Refusal('WRONG_ID', `The hub served communication check ${safe(sid)} under id ${id}.`);
      const issued = str(env, 'issued');
      if (timeParse(issued) === null) throw new Refusal('PING_INVALID', `The communication check ${id} has no valid issued time.`);
      const targets = env['targets'];
      if (!Array.isArray(targets) || targets.length > 32 * 64) throw new Refusal('PING_INVALID', `The communication check ${id} has no valid targets.`);
      const recipients: Party[] = targets.map((t) => {
        const s = str(t, 'state');
        const p = str(t, 'poc');
        if (!stateCodeValid(s) || p === undefined || p.length > 63) throw new Refusal('PING_INVALID', `The communication check ${id} has a malformed target.`);
        return { state: s, poc: p };
      });
      header = { kind: 'ping', priority: 'routine', tlp: 'TLP:CLEAR', from: { state: 'HUB', poc: 'operator' }, recipients, created: issued! };
      hash = envelopeHash(this.na, env);
      const challenge = str(env, 'challenge');
      body = { language: 'en', content: challenge !== undefined ? { challenge, respond_by: str(env, 'respond_by') ?? '' } : {} };
    } else {
      /* step 8: the sender's key from its state's verified record, its current key */
      const from = env['from'];
      const fs = str(from, 'state');
      const fp = str(from, 'poc');
      const fk = str(from, 'key_id');
      if (!stateCodeValid(fs) || fp === undefined || fk === undefined) throw new Refusal('NO_SENDER', `The envelope served for message ${id} names no valid sender.`);
      const pk = (await this.pocSigningKey(cache, fs, fp, fk, false))?.pk;
      if (!pk) throw new Refusal('SENDER_KEY', `${fs}/${safe(fp)} is not a current point of contact of ${fs} with signing key ${safe(fk)}: the message's sender is not verified.`);
      let info: EnvelopeInfo;
      /* step 9 */
      try {
        info = envelopeVerify(this.na, env, pk);
      } catch (e) {
        throw new Refusal(e instanceof ProtoError ? e.code : 'ENVELOPE_INVALID', `The envelope does not verify: message ${id} is not what ${fs}/${safe(fp)} signed.`, errDetail(e));
      }
      /* step 10 */
      if (info.id !== id) throw new Refusal('WRONG_ID', `The hub served envelope ${info.id} under id ${id}.`);
      header = { kind: info.kind, priority: info.priority, tlp: info.tlp, from: { state: info.from.state, poc: info.from.poc }, recipients: info.recipients.map((r) => ({ state: r.state, poc: r.poc })), created: info.created };
      if (info.case) header.case = info.case;
      if (info.in_reply_to) header.in_reply_to = info.in_reply_to;
      if (info.legal_basis) header.legal_basis = info.legal_basis;
      hash = info.hash;
      /* step 12: a recipient opens it */
      const mine = boxKeyId(this.na, this.id.boxPk);
      if (info.recipients.some((r) => r.key_id === mine)) {
        try {
          const o = envelopeOpen(this.na, env, this.id, pk);
          body = { language: o.body.language, content: plain(o.body.content) };
        } catch (e) {
          throw new Refusal(e instanceof ProtoError ? e.code : 'ENVELOPE_INVALID', `The message's body does not open and verify: it is not what ${fs}/${safe(fp)} sealed for you.`, errDetail(e));
        }
      }
    }
    /* step 11 / 13: in the log */
    const li = await this.proveIncluded(entryLeafHash(this.na, kindForLeaf, jcsBytes(env)), `Message ${id}`);
    /* steps 14-20 */
    const receipts: ReceiptView[] = [];
    const list = msg['receipts'];
    if (Array.isArray(list)) for (const item of list.slice(0, 256)) receipts.push(await this.checkReceipt(cache, header, id, hash, item));
    const ackByState: OpenedMessage['ackByState'] = {};
    for (const r of header.recipients) {
      if (ackByState[r.state]) continue;
      const got = receipts.filter((x) => x.verified && x.state === r.state).sort((a, b) => (timeParse(a.time)! < timeParse(b.time)! ? -1 : 1));
      ackByState[r.state] = got.length ? { acknowledged: true, time: got[0]!.time! } : { acknowledged: false };
    }
    const isRecipient = header.recipients.some((r) => r.state === me.state && r.poc === me.poc);
    const hubPart: Record<string, unknown> = {};
    for (const k of Object.keys(msg)) if (k !== 'envelope' && k !== 'receipts') hubPart[k] = plain(msg[k]);
    const out = {
      id,
      ping,
      header,
      ackByState,
      receipts,
      logIndex: li.index,
      canAcknowledge: isRecipient,
      acknowledgedByMe: receipts.some((r) => r.verified && r.state === me.state && r.poc === me.poc),
      hub: hubPart,
      me,
      env,
      hash,
      targets: header.recipients,
    } as OpenedMessage & { env: JsonObject; hash: Uint8Array; targets: Party[] };
    if (body) out.body = body;
    return out;
  }

  /* §12.4 steps 14-19 for one receipt; never throws. */
  private async checkReceipt(cache: RecordCache, header: OpenedMessage['header'], id: string, hash: Uint8Array, item: unknown): Promise<ReceiptView> {
    const rc = isJsonObject(item as JsonValue) ? (item as JsonObject)['receipt'] : undefined;
    const st = str(rc, 'state');
    const poc = str(rc, 'poc');
    const kid = str(rc, 'key_id');
    const view: ReceiptView = { state: st !== undefined ? safe(st) : '?', poc: poc !== undefined ? safe(poc) : '?', verified: false };
    if (!isJsonObject(rc as JsonValue) || !stateCodeValid(st) || poc === undefined || kid === undefined) return { ...view, reason: 'malformed receipt' };
    if (!header.recipients.some((r) => r.state === st && r.poc === poc)) return { ...view, reason: `${st}/${safe(poc).slice(0, 64)} is not a recipient of this message` };
    let key: { pk: Uint8Array; validBefore: number } | null = null;
    try {
      key = await this.pocSigningKey(cache, st, poc, kid, true);
    } catch (e) {
      return { ...view, reason: `${st}'s directory record does not verify (${e instanceof Refusal ? e.officer : errDetail(e)})` };
    }
    if (!key) return { ...view, reason: `key ${safe(kid).slice(0, 40)} is not a signing key of ${safe(poc).slice(0, 64)} in any verified record of its state` };
    let ai;
    try {
      ai = ackVerify(this.na, rc, key.pk);
    } catch (e) {
      return { ...view, reason: e instanceof ProtoError ? `${e.code} (${e.detail.slice(0, 180)})` : errDetail(e) };
    }
    if (ai.message !== id) return { ...view, reason: `it acknowledges message ${ai.message}, not ${id}` };
    if (!equalBytes(ai.envelopeSha256, hash)) return { ...view, reason: `it acknowledges another envelope than the one served for ${id}` };
    let li;
    try {
      li = await this.proveIncluded(entryLeafHash(this.na, 'ack', jcsBytes(rc)), 'The receipt');
    } catch {
      return { ...view, reason: "it is not provably in the hub's transparency log" };
    }
    /* A key removed from the record signs nothing logged after its removal. */
    if (li.index >= key.validBefore)
      return { ...view, reason: `key ${safe(kid).slice(0, 40)} of ${safe(poc).slice(0, 64)} was removed from its state's record (log entry ${key.validBefore}) before this receipt was logged (entry ${li.index})` };
    return { state: st, poc, time: ai.time, verified: true, logIndex: li.index };
  }

  /* ---- acting (§12.5) ---- */

  /* Step 22: only after the message verified (and opened), to one of its verified recipients. */
  async acknowledge(id: string): Promise<{ leafIndex: number }> {
    const m = await this.openWith(new RecordCache(), id);
    if (!m.ping && !m.body) throw new Refusal('NOT_RECIPIENT', `Message ${id} is not sealed to this key, so it cannot be acknowledged.`);
    if (!m.canAcknowledge) throw new Refusal('NOT_RECIPIENT', `${m.me.state}/${safe(m.me.poc)} is not among the recipients that message ${id} names.`);
    const ack = ackNew(this.na, id, m.hash, m.me.state, m.me.poc, this.id);
    const a = await this.request('POST', `/v1/messages/${id}/ack`, { body: ack });
    if (a.status === 200) {
      const again = await this.open(id);
      const mine = again.receipts.find((r) => r.verified && r.state === m.me.state && r.poc === m.me.poc);
      if (mine?.logIndex !== undefined) return { leafIndex: mine.logIndex };
      throw new Refusal('NOT_LOGGED', `The hub says message ${id} was already acknowledged, but shows no verified receipt of yours.`);
    }
    if (a.status !== 201) throw this.hubError(a, 'the acknowledgement');
    try {
      const li = await this.proveIncluded(entryLeafHash(this.na, 'ack', jcsBytes(ack)), 'The acknowledgement');
      return { leafIndex: li.index };
    } catch (e) {
      throw new Refusal('NOT_LOGGED', 'The hub accepted the acknowledgement but did not log it.', e instanceof Refusal ? e.detail : errDetail(e));
    }
  }

  private fieldLabel(kind: string, field: string): string {
    const f = template(kind)?.fields.find((x) => x.name === field);
    return f?.labels?.en ?? field;
  }

  /* Step 23: validate, recipients' keys from verified records, seal, post, check logged. */
  async send(d: Draft): Promise<{ id: string; leafIndex: number; to: Party[] }> {
    return this.sendWith(new RecordCache(), d);
  }

  /* exactPoc: the recipients name POC ids, never roles (a reply to a verified sender,
   * whose POC id may equal a role name). */
  private async sendWith(cache: RecordCache, d: Draft, exactPoc = false): Promise<{ id: string; leafIndex: number; to: Party[] }> {
    if (!template(d.kind)) throw new Refusal('TEMPLATE_UNKNOWN', `"${safe(d.kind)}" is not a kind of message this hub knows.`);
    const problems = validateContent(d.kind, d.content);
    if (problems.length) {
      const p = problems[0]!;
      throw new Refusal('TEMPLATE_FIELD', p.field ? `The field "${this.fieldLabel(d.kind, p.field)}" (${p.field}) is not valid: ${p.problem}.` : `The message's content is not valid: ${p.problem}.`, `content.${p.field}: ${p.problem}`);
    }
    if (!(PRIORITIES as readonly string[]).includes(d.priority)) throw new Refusal('INVALID_ARGUMENT', 'The priority must be routine, urgent or critical.');
    const tlp = d.tlp.startsWith('TLP:') ? d.tlp : `TLP:${d.tlp}`;
    if (!(TLP_LABELS as readonly string[]).includes(tlp)) throw new Refusal('INVALID_ARGUMENT', 'The TLP label must be RED, AMBER+STRICT, AMBER, GREEN or CLEAR.');
    if (!/^[a-z]{2}$/.test(d.language)) throw new Refusal('INVALID_ARGUMENT', 'The language must be a two-letter ISO 639-1 code, e.g. en.');
    if (!d.recipients.length) throw new Refusal('INVALID_ARGUMENT', 'Choose at least one recipient.');
    const me = await this.me(cache);
    const rcpts: { state: string; poc: string; boxPk: Uint8Array }[] = [];
    for (const r of d.recipients) {
      const rec = await this.cachedRecord(cache, r.state);
      const byRole = !exactPoc && (ROLES as readonly string[]).includes(r.poc);
      const found = rec.pocs.filter((p) => (byRole ? p.roles.includes(r.poc) : p.id === r.poc));
      if (!found.length) throw new Refusal('NO_SUCH_POC', `${r.state} has no point of contact ${byRole ? 'with role' : 'with id'} "${safe(r.poc)}" in its verified record.`);
      for (const p of found) {
        if (!p.encKey) continue;
        if (rcpts.some((x) => this.na.memcmp(x.boxPk, p.encKey!.key))) continue;
        rcpts.push({ state: r.state, poc: p.id, boxPk: p.encKey.key });
      }
    }
    if (rcpts.length > 32) throw new Refusal('INVALID_ARGUMENT', 'A message may have at most 32 recipients.');
    let env: Record<string, unknown>;
    try {
      env = envelopeSeal(
        this.na,
        {
          kind: d.kind,
          priority: d.priority,
          tlp: tlp as (typeof TLP_LABELS)[number],
          fromState: me.state,
          fromPoc: me.poc,
          language: d.language,
          recipients: rcpts,
          ...(d.case ? { case: d.case } : {}),
          ...(d.in_reply_to ? { in_reply_to: d.in_reply_to } : {}),
          ...(d.legal_basis ? { legal_basis: d.legal_basis } : {}),
        },
        d.content,
        this.id,
      );
    } catch (e) {
      throw new Refusal(e instanceof ProtoError ? e.code : 'INVALID_ARGUMENT', 'The message could not be sealed.', errDetail(e));
    }
    const a = await this.request('POST', '/v1/messages', { body: env });
    if (a.status !== 201) throw this.hubError(a, 'the message');
    try {
      const li = await this.proveIncluded(entryLeafHash(this.na, 'envelope', jcsBytes(env)), 'The message');
      return { id: env['id'] as string, leafIndex: li.index, to: rcpts.map((x) => ({ state: x.state, poc: x.poc })) };
    } catch (e) {
      throw new Refusal('NOT_LOGGED', 'The hub accepted the message but did not log it: keep the envelope as evidence.', e instanceof Refusal ? e.detail : errDetail(e));
    }
  }

  /* Step 21: to the verified sender, in the verified case, in reply to the verified id. */
  async reply(id: string, d: Omit<Draft, 'recipients' | 'case' | 'in_reply_to'>): Promise<{ id: string; leafIndex: number; to: Party[] }> {
    const cache = new RecordCache();
    const m = await this.openWith(cache, id);
    if (m.ping) throw new Refusal('INVALID_ARGUMENT', 'A communication check is answered by acknowledging it, not by a reply.');
    return this.sendWith(cache, { ...d, recipients: [m.header.from], case: m.header.case ?? m.id, in_reply_to: m.id }, true);
  }

  async caseView(caseId: string): Promise<{ messages: HubWord<any[]> }> {
    if (!uuidValid(caseId)) throw new Refusal('INVALID_ARGUMENT', `"${safe(caseId)}" is not a case id.`);
    const v = await this.getJson(`/v1/cases/${caseId}`, 'the case');
    const list = isJsonObject(v) ? v['messages'] : undefined;
    return { messages: { hub: Array.isArray(list) ? plain(list) : [] } };
  }
}

export { textOk, hexEncode, b64urlDecode };

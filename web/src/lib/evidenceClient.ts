/* Evidence packages between the page and the hub (docs/protocol.md §13.2-13.4), as
 * `parley evidence send|fetch|verify|custody` does them (src/cli/cmd_evidence.c):
 * tus 1.0 uploads resumable at the hub's durable offset, HTTP range downloads, every
 * request RFC 9421-signed and covering the tus and range headers.
 *
 * Memory: a file is read with File.slice one 1 MiB chunk at a time, sealed, hashed and
 * sent; nothing holds it whole. A download keeps the chunks' leaf hashes (32 bytes per
 * MiB) and one chunk of ciphertext and plaintext in the page's heap; each decrypted
 * chunk, once it verified, goes to a sink (the browser's download manager, through the
 * service worker: on disk as it arrives), its last piece held back until the file's
 * SHA-256 matched the signed manifest (§13.4 step 26), so a file that does not verify
 * is never completed. Without a sink the plaintext goes to the browser's blob storage
 * and is offered for saving only once its SHA-256 matched. */
import { RecordCache, Refusal, safe, type ParleyClient, type VerifiedRecord } from './client';
import { b64urlEncode, b64urlDecode } from './encoding';
import {
  CHUNK,
  CHUNK_CT,
  LOG_KIND_CUSTODY,
  LOG_KIND_MANIFEST,
  ManifestInfo,
  MerkleFrontier,
  chunkCount,
  chunkCtLen,
  chunkLeaf,
  ciphertextSize,
  custodyNew,
  consentVerify,
  custodyVerify,
  fileNameOk,
  manifestNew,
  manifestVerify,
  openChunk,
  sealChunk,
  streamNew,
  streamStart,
  unwrapKey,
  uuid7,
  type EvFile,
} from './evidence';
import { contentDigest, signRequest } from './httpsig';
import type { FileSink } from './saveStream';
import { readCapped } from './hub';
import { JsonObject, JsonValue, isJsonObject, jcsBytes, parseJson } from './json';
import { signKeyId } from './keys';
import { ProtoError, stateCodeValid, pocIdValid, uuidValid } from './signed';
import type { Sodium } from './sodium';
import { entryLeafHash, equalBytes } from './tlog';

/* A refusal the evidence screens say in the officer's language: key names a string of
 * the UI catalogs, vars fill it. */
export class EvidenceRefusal extends Refusal {
  constructor(
    code: string,
    officer: string,
    readonly key: string,
    readonly vars: Record<string, string | number>,
    detail?: string,
  ) {
    super(code, officer, detail);
  }
}

/* Why a signer's key does not count for an object logged at entry `logged` (the words
 * of cmd_evidence.c key_when_logged). */
function keyReason(state: string, poc: string, keyId: string, removedAt: number | null, logged: number): string {
  const k = safe(keyId).slice(0, 40);
  const who = `${state}/${safe(poc).slice(0, 64)}`;
  return removedAt === null
    ? `key ${k} is not a signing key of ${who} in any verified record of ${state}`
    : `key ${k} of ${who} was removed from ${state}'s record (log entry ${removedAt}) before this was logged (entry ${logged})`;
}

function keyRefusal(state: string, poc: string, keyId: string, removedAt: number | null, logged: number): EvidenceRefusal {
  const vars = { key: safe(keyId).slice(0, 40), who: `${state}/${safe(poc).slice(0, 64)}`, state, logged };
  const why = keyReason(state, poc, keyId, removedAt, logged);
  if (removedAt === null) return new EvidenceRefusal('EVIDENCE_SIGNATURE', `The manifest's signer: ${why}. The package is refused.`, 'ev.refuse.unknownKey', vars);
  return new EvidenceRefusal('EVIDENCE_SIGNATURE', `The manifest's signer: ${why}. The package is refused.`, 'ev.refuse.keyRemoved', { ...vars, removed: removedAt });
}

export interface Progress {
  phase: 'seal' | 'upload' | 'hashes' | 'download' | 'check';
  done: number; /* bytes */
  total: number;
  rate: number; /* bytes per second since the phase began */
  eta: number; /* seconds, or NaN */
}
export type OnProgress = (p: Progress) => void;

export interface PackageSummary {
  id: string;
  hub: Record<string, unknown>; /* the hub's listing: unsigned */
}

export interface VerifiedPackage {
  info: ManifestInfo;
  manifest: JsonObject;
  status: string; /* the hub's word */
  logIndex: number; /* the manifest's entry, proven included */
  isRecipient: boolean;
  isSender: boolean;
  me: { state: string; poc: string };
}

export interface FetchedFile {
  name: string;
  size: number;
  sha256: string; /* hex, matched the manifest */
  blob?: Blob; /* kept in the browser's blob storage, when there was no sink to stream to */
}

/* Where a verified file's bytes go as they verify (lib/saveStream.ts): opened at the
 * file's first byte. */
export type OpenSink = (name: string, size: number) => Promise<FileSink>;

export interface CustodyLine {
  event: string;
  who: string;
  time?: string;
  verified: boolean;
  reason?: string;
  logIndex?: number;
}

export interface UploadState {
  id: string;
  names: string[];
  sizes: number[];
  modified: number[];
  header: string;
  sealedKey: string; /* the content key sealed to the sender's own encryption key */
}

const RESUME_PREFIX = 'parley-evidence-upload:';
const RETRIES = 5;
const HASHES_PAGE = 4096;

class Meter {
  private t0 = performance.now();
  private last = 0;
  constructor(
    private phase: Progress['phase'],
    private total: number,
    private base: number,
    private on?: OnProgress,
  ) {}
  update(done: number, final = false): void {
    const now = performance.now();
    if (!this.on || (!final && now - this.last < 200)) return;
    this.last = now;
    const s = (now - this.t0) / 1000;
    const rate = s > 0 ? (done - this.base) / s : 0;
    this.on({ phase: this.phase, done, total: this.total, rate, eta: rate > 0 ? (this.total - done) / rate : NaN });
  }
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function str(o: unknown, k: string): string | undefined {
  if (!isJsonObject(o as JsonValue)) return undefined;
  const v = (o as JsonObject)[k];
  return typeof v === 'string' ? v : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/* The files, concatenated in order, read one slice at a time (never whole). */
class FileReader {
  constructor(private files: File[]) {}
  async read(offset: number, len: number): Promise<Uint8Array> {
    const out = new Uint8Array(len);
    let got = 0;
    let base = 0;
    for (const f of this.files) {
      if (got >= len) break;
      const end = base + f.size;
      const at = offset + got;
      if (at < end) {
        const from = at - base;
        const n = Math.min(len - got, f.size - from);
        const part = new Uint8Array(await f.slice(from, from + n).arrayBuffer());
        if (part.length !== n) throw new Refusal('FILE_CHANGED', `${f.name} changed or could not be read while it was sent.`);
        out.set(part, got);
        got += n;
      }
      base = end;
    }
    if (got !== len) throw new Refusal('FILE_CHANGED', 'A file changed or could not be read while it was sent.');
    return out;
  }
}

export class EvidenceClient {
  readonly na: Sodium;
  constructor(readonly client: ParleyClient) {
    this.na = client.na;
  }

  /* ---- signed requests with the tus and range headers ---- */

  private async send(method: string, path: string, opts: { body?: Uint8Array; contentType?: string; offset?: number; length?: number; range?: string; signal?: AbortSignal } = {}): Promise<Response> {
    const na = this.na;
    const targetUri = this.client.base + path;
    const fields: Record<string, string> = { 'tus-resumable': '1.0.0' };
    const components = ['@method', '@target-uri', 'tus-resumable'];
    if (opts.body) {
      fields['content-digest'] = contentDigest(na, opts.body);
      components.push('content-digest');
    }
    if (opts.offset !== undefined) {
      fields['upload-offset'] = String(opts.offset);
      components.push('upload-offset');
    }
    if (opts.length !== undefined) {
      fields['upload-length'] = String(opts.length);
      components.push('upload-length');
    }
    if (opts.range !== undefined) {
      fields['range'] = opts.range;
      components.push('range');
    }
    const sig = signRequest(na, { method, targetUri, headers: fields }, components, this.client.id.signSk, {
      created: Math.floor(Date.now() / 1000),
      keyid: signKeyId(na, this.client.id.signPk),
      nonce: b64urlEncode(na.randombytes_buf(24)),
      alg: 'ed25519',
    });
    const headers: Record<string, string> = { ...sig, 'Tus-Resumable': '1.0.0', Accept: 'application/json' };
    if (opts.body) {
      headers['Content-Digest'] = fields['content-digest']!;
      headers['Content-Type'] = opts.contentType ?? 'application/json';
    }
    if (opts.offset !== undefined) headers['Upload-Offset'] = fields['upload-offset']!;
    if (opts.length !== undefined) headers['Upload-Length'] = fields['upload-length']!;
    if (opts.range !== undefined) headers['Range'] = opts.range;
    const init: RequestInit = { method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error' };
    /* A Blob, not the bytes: Chromium copies a bytes body for its DevTools protocol on
     * every request while DevTools (or any CDP client, as playwright) watches the page,
     * which cost 0.3-0.9 s per 1 MiB PATCH; a Blob body is not copied there. */
    if (opts.body) init.body = new Blob([opts.body as Uint8Array<ArrayBuffer>]);
    if (opts.signal) init.signal = opts.signal;
    try {
      return await fetch(targetUri, init);
    } catch (e) {
      throw new Refusal('HUB_UNREACHABLE', 'The hub could not be reached.', e instanceof Error ? e.message : String(e));
    }
  }

  private async answer(r: Response): Promise<JsonValue | null> {
    try {
      return parseJson(await readCapped(r, 64 << 20), { maxBytes: 64 << 20, maxDepth: 64, maxString: 4 << 20, maxItems: 10000000 });
    } catch {
      return null;
    }
  }

  private async hubError(r: Response, what: string): Promise<Refusal> {
    const j = await this.answer(r);
    const code = str(j, 'code');
    const hint = str(j, 'hint');
    const detail = str(j, 'detail');
    const c = code && /^[A-Z_]{1,64}$/.test(code) ? code : `HTTP_${r.status}`;
    if (c === 'EVIDENCE_UNKNOWN') return new EvidenceRefusal(c, `The hub knows no package of that id sent by or to you (${what}).`, 'ev.refuse.unknown', {});
    if (c === 'EVIDENCE_NOT_RECIPIENT') return new EvidenceRefusal(c, 'You are not a recipient of this package: the hub does not give you its content.', 'ev.refuse.notRecipient', {});
    return new Refusal(c, `The hub refused ${what}${hint ? `: ${safe(hint)}` : ` (HTTP ${r.status})`}.`, detail ? safe(detail) : undefined);
  }

  private async getJson(path: string, what: string): Promise<JsonValue> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.send('GET', path);
      if ((r.status === 503 || r.status === 429) && attempt < RETRIES) {
        await sleep(1000);
        continue;
      }
      if (r.status !== 200) throw await this.hubError(r, what);
      const j = await this.answer(r);
      if (j === null) throw new Refusal('HUB_ANSWER', `The hub's answer to ${what} is not valid JSON.`);
      return j;
    }
  }

  /* This key's (state, poc): the hub's whoami, believed only if the state's verified
   * record gives that POC this key file's keys. */
  async me(): Promise<{ state: string; poc: string; record: VerifiedRecord }> {
    const w = await this.client.whoami();
    if (!stateCodeValid(w.state) || !pocIdValid(w.poc)) throw new Refusal('NOT_OFFICER', `This key is not a point of contact's key (the hub says its role is ${safe(w.role)}).`);
    const rec = await this.client.verifiedRecord(w.state);
    const id = this.client.id;
    const mine = rec.pocs.find((p) => p.id === w.poc && this.na.memcmp(p.signingKey, id.signPk) && p.encKey !== undefined && this.na.memcmp(p.encKey.key, id.boxPk));
    if (!mine) throw new Refusal('NOT_THIS_KEY', `The hub says this key is ${w.state}/${safe(w.poc)}, but ${w.state}'s verified record gives ${w.state}/${safe(w.poc)} other keys: nothing is done as ${w.state}/${safe(w.poc)}.`);
    return { state: w.state, poc: w.poc!, record: rec };
  }

  /* ---- list ---- */

  async list(): Promise<PackageSummary[]> {
    const v = await this.getJson('/v1/evidence', 'the list of evidence packages');
    const list = isJsonObject(v) ? v['packages'] : undefined;
    const out: PackageSummary[] = [];
    if (Array.isArray(list))
      for (const p of list.slice(0, 10000)) {
        const id = str(p, 'id');
        if (!isJsonObject(p) || !uuidValid(id)) continue;
        const hub: Record<string, unknown> = {};
        for (const k of Object.keys(p)) if (k !== '__proto__') hub[k] = typeof p[k] === 'object' ? JSON.parse(JSON.stringify(p[k])) : p[k];
        out.push({ id, hub });
      }
    return out;
  }

  /* ---- the verified manifest (§13.4 step 24) ---- */

  async package(id: string): Promise<VerifiedPackage> {
    if (!uuidValid(id)) throw new Refusal('INVALID_ARGUMENT', `"${safe(id)}" is not a package id.`);
    const pkg = await this.getJson(`/v1/evidence/${id}`, `package ${id}`);
    const manifest = isJsonObject(pkg) ? pkg['manifest'] : undefined;
    if (!isJsonObject(manifest)) throw new Refusal('EVIDENCE_INVALID', `The hub served no signed manifest for package ${id}.`);
    const from = manifest['from'];
    const fs = str(from, 'state');
    const fp = str(from, 'poc');
    const fk = str(from, 'key_id');
    if (!stateCodeValid(fs) || !pocIdValid(fp) || fk === undefined) throw new EvidenceRefusal('EVIDENCE_INVALID', `The manifest of package ${id} names no valid sender.`, 'ev.refuse.noSender', { id });
    /* its place in the log first: the sender's key counts as it was when the manifest was logged */
    let li;
    try {
      li = await this.client.proveIncluded(entryLeafHash(this.na, LOG_KIND_MANIFEST, jcsBytes(manifest)), `The manifest of package ${id}`);
    } catch (e) {
      if (!(e instanceof Refusal) || e.code !== 'NOT_IN_LOG') throw e;
      throw new EvidenceRefusal(e.code, `The manifest of package ${id} is not provably in the hub's transparency log: it is not what the sender sealed and the hub logged.`, 'ev.refuse.notLogged', { id }, e.detail);
    }
    const key = await this.client.keyWhenLogged(fs, fp, fk, li.index);
    if (!key.pk) throw keyRefusal(fs, fp, fk, key.removedAt, li.index);
    let info: ManifestInfo;
    try {
      info = manifestVerify(this.na, manifest, key.pk);
    } catch (e) {
      const d = e instanceof ProtoError ? `${e.code}: ${e.detail}` : String(e);
      if (e instanceof ProtoError && e.code === 'EVIDENCE_SIGNATURE')
        throw new EvidenceRefusal(e.code, `The manifest of package ${id} is not signed by ${fs}/${fp}'s key in ${fs}'s verified record: it is not what the sender sealed.`, 'ev.refuse.wrongSigner', { id, who: `${fs}/${fp}` }, d);
      throw new Refusal(e instanceof ProtoError ? e.code : 'EVIDENCE_INVALID', `The manifest of package ${id} is not a valid evidence manifest.`, d);
    }
    if (info.id !== id) throw new Refusal('WRONG_ID', `The hub served package ${info.id} under id ${id}.`);
    const me = await this.me();
    const boxId = me.record.pocs.find((p) => p.id === me.poc)?.encKey?.keyId;
    return {
      info,
      manifest,
      status: str(pkg, 'status') ?? '(missing)',
      logIndex: li.index,
      isRecipient: info.recipients.some((r) => r.key_id === boxId),
      isSender: info.from.state === me.state && info.from.poc === me.poc,
      me: { state: me.state, poc: me.poc },
    };
  }

  /* ---- fetch (§13.4 steps 25-26) ---- */

  private async leafHashes(id: string, info: ManifestInfo, on?: OnProgress): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    const fr = new MerkleFrontier(this.na);
    const meter = new Meter('hashes', info.chunks, 0, on);
    while (out.length < info.chunks) {
      const v = await this.getJson(`/v1/evidence/${id}/chunks?from=${out.length}`, 'the chunk hashes');
      const a = isJsonObject(v) ? v['hashes'] : undefined;
      if (!Array.isArray(a) || a.length === 0 || a.length > HASHES_PAGE) throw new Refusal('EVIDENCE_MERKLE', `The hub lists ${out.length} of ${info.chunks} chunk hashes.`);
      for (const h of a) {
        if (out.length >= info.chunks) break;
        let b: Uint8Array;
        try {
          b = b64urlDecode(h as string, 32);
        } catch {
          throw new Refusal('EVIDENCE_MERKLE', 'The hub sent a malformed chunk hash.');
        }
        out.push(b);
        fr.append(b);
      }
      meter.update(out.length);
    }
    if (!equalBytes(fr.root(), info.merkleRoot)) throw new EvidenceRefusal('EVIDENCE_MERKLE', "The chunk hashes the hub lists do not give the manifest's signed Merkle root: the package is refused.", 'ev.refuse.merkle', {});
    return out;
  }

  /* Downloads, checks every chunk against its signed leaf hash before decrypting it,
   * checks every file's SHA-256, then records the signed custody events downloaded and
   * verified. */
  async fetch(pkg: VerifiedPackage, on?: OnProgress, signal?: AbortSignal, openSink?: OpenSink): Promise<{ files: FetchedFile[]; custody: string[] }> {
    const na = this.na;
    const { info } = pkg;
    const id = info.id;
    if (!pkg.isRecipient) throw new EvidenceRefusal('EVIDENCE_NOT_RECIPIENT', `Package ${id} is not sealed for your key: you are not one of its recipients.`, 'ev.refuse.notRecipient', {});
    let key: Uint8Array;
    try {
      key = unwrapKey(na, info, this.client.id);
    } catch (e) {
      if (e instanceof ProtoError && e.code === 'EVIDENCE_NOT_RECIPIENT') throw new EvidenceRefusal(e.code, `Package ${id} is not sealed for your key: you are not one of its recipients.`, 'ev.refuse.notRecipient', {});
      throw new Refusal(e instanceof ProtoError ? e.code : 'CRYPTO_DECRYPT', `The key of package ${id} does not open for you: it is not what the sender sealed for you.`, e instanceof ProtoError ? e.detail : String(e));
    }
    try {
      if (pkg.status !== 'available') throw new Refusal('EVIDENCE_STATUS', `The hub says package ${id} is ${safe(pkg.status)}, not available.`);
      const nf = info.files.length;
      const sinks: (FileSink | null)[] = info.files.map(() => null);
      const held: (Uint8Array | null)[] = info.files.map(() => null);
      const shaHex: (string | null)[] = info.files.map(() => null);
      const sha = info.files.map(() => na.crypto_hash_sha256_init());
      const parts: Blob[][] = info.files.map(() => []);
      const sink = async (k: number): Promise<FileSink> => (sinks[k] ??= await openSink!(info.files[k]!.name, info.files[k]!.size));
      try {
        /* the first file's download starts now, near the officer's click */
        if (openSink) await sink(0);
        const hashes = await this.leafHashes(id, info, on);
        const st = streamStart(na, key, info.streamHeader);
        /* a file complete: its SHA-256 checked, then its held-back last piece released */
        const finish = async (k: number) => {
          const f = info.files[k]!;
          const h = na.crypto_hash_sha256_final(sha[k]!);
          if (!na.memcmp(h, f.sha256))
            throw new EvidenceRefusal('EVIDENCE_FILE_HASH', `${safe(f.name)} does not match its SHA-256 in the signed manifest: it is not offered for saving.`, 'ev.refuse.fileHash', { names: safe(f.name) });
          shaHex[k] = hex(h);
          if (openSink) {
            const s = await sink(k);
            if (held[k]) await s.write(held[k]!);
            held[k] = null;
            await s.close();
          }
        };
        let fileIdx = 0;
        let leftInFile = info.files[0]!.size;
        const write = async (pt: Uint8Array) => {
          let o = 0;
          while (o < pt.length) {
            while (leftInFile === 0 && fileIdx + 1 < nf) leftInFile = info.files[++fileIdx]!.size;
            if (leftInFile === 0) throw new Refusal('EVIDENCE_INVALID', 'The package holds more bytes than its files.');
            const n = Math.min(leftInFile, pt.length - o);
            const piece = pt.subarray(o, o + n);
            na.crypto_hash_sha256_update(sha[fileIdx]!, piece);
            if (openSink) {
              const s = await sink(fileIdx);
              if (held[fileIdx]) await s.write(held[fileIdx]!);
              held[fileIdx] = piece.slice();
            } else parts[fileIdx]!.push(new Blob([new Uint8Array(piece)]));
            leftInFile -= n;
            o += n;
            if (leftInFile === 0) await finish(fileIdx);
          }
        };
        const meter = new Meter('download', info.ciphertextSize, 0, on);
        let chunk = 0;
        let failures = 0;
        const buf = new Uint8Array(CHUNK_CT);
        while (chunk < info.chunks) {
          const before = chunk;
          let have = 0;
          try {
            const r = await this.send('GET', `/v1/evidence/${id}/content`, { range: `bytes=${chunk * CHUNK_CT}-`, ...(signal ? { signal } : {}) });
            if (r.status === 503 || r.status === 429) throw new Error(`HTTP ${r.status}`);
            if (r.status !== 206 && r.status !== 200) throw await this.hubError(r, `the content of package ${id}`);
            if (r.status === 200 && chunk !== 0) throw new Refusal('EVIDENCE_RANGE', 'The hub ignored the range asked for.');
            if (!r.body) throw new Error('no body');
            const reader = r.body.getReader();
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              let o = 0;
              while (o < value.length) {
                const want = chunkCtLen(info.plaintextSize, chunk);
                if (want === 0) {
                  await reader.cancel().catch(() => undefined);
                  throw new Refusal('EVIDENCE_INVALID', 'The hub sent more than the package\'s ciphertext.');
                }
                const k = Math.min(want - have, value.length - o);
                buf.set(value.subarray(o, o + k), have);
                have += k;
                o += k;
                if (have < want) continue;
                const ct = buf.subarray(0, want);
                const first = chunk * CHUNK_CT;
                if (!equalBytes(chunkLeaf(na, ct), hashes[chunk]!)) {
                  await reader.cancel().catch(() => undefined);
                  throw new EvidenceRefusal(
                    'EVIDENCE_CHUNK_HASH',
                    `Chunk ${chunk} of package ${id} (bytes ${first}-${first + want - 1}) is not what the sender sealed: it does not match the signed Merkle root. The package is refused and nothing of it is saved.`,
                    'ev.refuse.chunk',
                    { chunk, from: first, to: first + want - 1 },
                  );
                }
                const pt = openChunk(na, st, ct, chunk + 1 === info.chunks);
                if (!pt) {
                  await reader.cancel().catch(() => undefined);
                  throw new EvidenceRefusal('CRYPTO_DECRYPT', `Chunk ${chunk} of package ${id} does not decrypt: the package is refused and nothing of it is saved.`, 'ev.refuse.decrypt', { chunk });
                }
                await write(pt);
                na.memzero(pt);
                chunk++;
                have = 0;
                meter.update(chunk * CHUNK_CT > info.ciphertextSize ? info.ciphertextSize : chunk * CHUNK_CT);
              }
            }
          } catch (e) {
            if (e instanceof Refusal) throw e;
            if (signal?.aborted) throw new Refusal('CANCELLED', 'The download was stopped.');
            /* a dropped connection: ask again from the first chunk not yet checked */
          }
          if (chunk === before && ++failures > RETRIES) throw new Refusal('HUB_UNREACHABLE', `The download of package ${id} broke at chunk ${chunk} and did not resume.`);
          if (chunk > before) failures = 0;
          if (chunk < info.chunks) await sleep(chunk === before ? 1000 : 0);
        }
        meter.update(info.ciphertextSize, true);
        /* files of no bytes, and any the ciphertext fell short of (refused by their hash) */
        for (let k = 0; k < nf; k++) if (shaHex[k] === null) await finish(k);
        const custody: string[] = [];
        await this.postCustody(pkg, 'downloaded', 'every ciphertext chunk received');
        custody.push('downloaded');
        const files: FetchedFile[] = info.files.map((f, k) => ({
          name: f.name,
          size: f.size,
          sha256: shaHex[k]!,
          ...(openSink ? {} : { blob: new Blob(parts[k]!, { type: 'application/octet-stream' }) }),
        }));
        await this.postCustody(pkg, 'verified', "every chunk hash and every file's SHA-256 matched the manifest");
        custody.push('verified');
        return { files, custody };
      } catch (e) {
        /* the browser fails every download not completed: no file with unverified bytes */
        for (let k = 0; k < nf; k++) if (sinks[k] && shaHex[k] === null) sinks[k]!.abort(e instanceof Refusal ? e.code : 'refused');
        throw e;
      }
    } finally {
      na.memzero(key);
    }
  }

  private async postCustody(pkg: VerifiedPackage, event: string, detail: string): Promise<void> {
    const ev = custodyNew(this.na, pkg.info.id, pkg.info.hash, event, pkg.me.state, pkg.me.poc, this.client.id, Math.floor(Date.now() / 1000), detail);
    const body = jcsBytes(ev);
    for (let attempt = 0; ; attempt++) {
      const r = await this.send('POST', `/v1/evidence/${pkg.info.id}/custody`, { body });
      if ((r.status === 503 || r.status === 429) && attempt < RETRIES) {
        await sleep(1000);
        continue;
      }
      if (r.status !== 201) throw await this.hubError(r, `the custody event ${event}`);
      return;
    }
  }

  /* ---- custody (§13.3), as `parley evidence custody` ---- */

  /* The key a POC signed with, as its state's verified records held it at log entry
   * `logged`; else why not. */
  private async signerKey(cache: RecordCache, state: string, poc: string, keyId: string | undefined, logged: number): Promise<{ pk: Uint8Array | null; why: string }> {
    if (keyId === undefined) return { pk: null, why: 'names no key' };
    try {
      const k = await this.client.keyWhenLogged(state, poc, keyId, logged, cache);
      return k.pk ? { pk: k.pk, why: '' } : { pk: null, why: keyReason(state, poc, keyId, k.removedAt, logged) };
    } catch (e) {
      return { pk: null, why: `${state}'s directory record does not verify (${e instanceof Refusal ? e.officer : String(e)})` };
    }
  }

  async custody(pkg: VerifiedPackage): Promise<{ lines: CustodyLine[]; status: string; failed: number }> {
    const id = pkg.info.id;
    const v = await this.getJson(`/v1/evidence/${id}/custody`, `the custody of package ${id}`);
    const list = isJsonObject(v) ? v['custody'] : undefined;
    const items = Array.isArray(list) ? list.slice(0, 1000) : [];
    let hubPk: Uint8Array | null = null;
    try {
      hubPk = await this.client.hubKey();
    } catch {
      hubPk = null;
    }
    const mh = b64urlEncode(pkg.info.hash);
    const lines: CustodyLine[] = [];
    const manifestBytes = jcsBytes(pkg.manifest);
    const cache = new RecordCache();
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const event = str(item, 'event');
      const rec = isJsonObject(item) ? item['record'] : undefined;
      const li = isJsonObject(item) && typeof item['leaf_index'] === 'number' ? item['leaf_index'] : -1;
      const line: CustodyLine = { event: event !== undefined ? safe(event).slice(0, 32) : '?', who: '?', verified: false };
      const sealed = i === 0 || event === 'sealed';
      const kind = sealed ? LOG_KIND_MANIFEST : LOG_KIND_CUSTODY;
      const actor = isJsonObject(rec) ? rec['actor'] : undefined;
      const as = str(actor, 'state');
      const ap = str(actor, 'poc');
      const byPoc = stateCodeValid(as) && pocIdValid(ap);
      if (sealed) {
        line.who = `${pkg.info.from.state}/${pkg.info.from.poc} (sender)`;
        line.time = str(rec, 'created');
      } else {
        if (str(actor, 'hub') !== undefined) line.who = 'the hub';
        else if (byPoc) line.who = `${as}/${ap}`;
        line.time = str(rec, 'time');
      }
      let why = '';
      /* its place in the log first: an actor's key counts as it was when the event was logged */
      let logged = -1;
      if (event === undefined || !isJsonObject(rec)) why = 'malformed entry';
      else {
        try {
          logged = (await this.client.proveIncluded(entryLeafHash(this.na, kind, jcsBytes(rec)), `Custody event ${event}`)).index;
          if (logged !== li) why = `logged at ${logged}, the hub says ${li}`;
        } catch {
          why = "not provably in the hub's transparency log";
        }
      }
      if (why || !isJsonObject(rec)) {
        /* said below */
      } else if (sealed) {
        let same = false;
        try {
          same = equalBytes(jcsBytes(rec), manifestBytes);
        } catch {
          same = false;
        }
        if (i !== 0 || event !== 'sealed' || !same) why = 'the first event must be the sealed manifest itself';
      } else {
        let pk: Uint8Array | null = null;
        why = "the actor's key is unknown";
        if (str(actor, 'hub') !== undefined) {
          pk = hubPk;
        } else if (byPoc) {
          const k = await this.signerKey(cache, as!, ap!, str(actor, 'key_id'), logged);
          pk = k.pk;
          if (k.why) why = k.why;
        }
        if (pk) {
          why = '';
          try {
            const c = custodyVerify(this.na, rec, pk);
            if (c.evidence !== id || str(rec, 'manifest_sha256') !== mh) why = 'names another package or manifest';
            else if (c.event !== event) why = `the hub lists it as ${safe(event)}, it says ${safe(c.event)}`;
            else if (c.shared) {
              /* onward sharing counts only with the original sender's signed consent for
               * that POC, by the key the sender's record held when the event was logged */
              const from = pkg.info.from;
              const by = isJsonObject(c.shared.consent['by']) ? c.shared.consent['by'] : undefined;
              const k = await this.signerKey(cache, from.state, from.poc, str(by, 'key_id'), logged);
              if (!k.pk) why = `consent: ${k.why}`;
              else {
                consentVerify(this.na, c.shared.consent, id, pkg.info.hash, c.shared.to, from, k.pk);
                line.who += `, to ${c.shared.to.state}/${c.shared.to.poc} with ${from.state}/${from.poc}'s signed consent`;
              }
            }
          } catch (e) {
            why = `signature: ${e instanceof ProtoError ? e.detail.slice(0, 200) : String(e)}`;
          }
        }
      }
      if (!why) line.logIndex = logged;
      if (why) line.reason = why;
      else line.verified = true;
      if (line.time !== undefined) line.time = safe(line.time).slice(0, 40);
      lines.push(line);
    }
    return { lines, status: str(v, 'status') ?? '(missing)', failed: lines.filter((l) => !l.verified).length };
  }

  /* ---- send: seal, sign, create, upload (tus 1.0) ---- */

  /* Recipients are (state, poc) of verified records; their encryption keys come from
   * those records. Returns the id once the hub holds every chunk and logged the manifest. */
  async sendPackage(files: File[], to: { state: string; poc: string }[], opts: { case?: string; request?: string; notes?: string; retainDays: number }, on?: OnProgress): Promise<{ id: string; logIndex: number }> {
    const na = this.na;
    if (!files.length || files.length > 1000) throw new Refusal('INVALID_ARGUMENT', 'Choose 1 to 1000 files.');
    const seen = new Set<string>();
    for (const f of files) {
      if (!fileNameOk(f.name)) throw new Refusal('INVALID_ARGUMENT', `"${safe(f.name)}" cannot be a file name in a package.`);
      if (seen.has(f.name)) throw new Refusal('INVALID_ARGUMENT', `Two files are named "${safe(f.name)}".`);
      seen.add(f.name);
    }
    if (!to.length) throw new Refusal('INVALID_ARGUMENT', 'Choose at least one recipient.');
    if (opts.case !== undefined && !uuidValid(opts.case)) throw new Refusal('INVALID_ARGUMENT', 'The case is not a valid id.');
    if (!Number.isInteger(opts.retainDays) || opts.retainDays < 1 || opts.retainDays > 36500) throw new Refusal('INVALID_ARGUMENT', 'Keep the package between 1 and 36500 days.');
    const me = await this.me();
    const rcpts: { state: string; poc: string; boxPk: Uint8Array }[] = [];
    for (const r of to) {
      const rec = await this.client.verifiedRecord(r.state);
      const p = rec.pocs.find((x) => x.id === r.poc);
      if (!p?.encKey) throw new Refusal('NO_SUCH_POC', `${r.state} has no point of contact "${safe(r.poc)}" with an encryption key in its verified record.`);
      if (!rcpts.some((x) => na.memcmp(x.boxPk, p.encKey!.key))) rcpts.push({ state: r.state, poc: p.id, boxPk: p.encKey.key });
    }
    if (rcpts.length > 32) throw new Refusal('INVALID_ARGUMENT', 'A package may have at most 32 recipients.');
    /* pass 1: seal, hash every chunk and every file */
    const total = files.reduce((a, f) => a + f.size, 0);
    const chunks = chunkCount(total);
    const { key, header } = streamNew(na);
    try {
      const st = streamStart(na, key, header);
      const fr = new MerkleFrontier(na);
      const reader = new FileReader(files);
      const sha = files.map(() => na.crypto_hash_sha256_init());
      const meter = new Meter('seal', total, 0, on);
      /* chunk i+1 is read from the file while chunk i is sealed and hashed */
      const readAhead = (i: number): Promise<Uint8Array> => {
        const p = reader.read(i * CHUNK, Math.min(CHUNK, total - i * CHUNK));
        p.catch(() => undefined); /* awaited in turn; never an unhandled rejection */
        return p;
      };
      let nextPt: Promise<Uint8Array> | null = chunks > 0 ? readAhead(0) : null;
      for (let i = 0; i < chunks; i++) {
        const want = Math.min(CHUNK, total - i * CHUNK);
        const pt = await nextPt!;
        nextPt = i + 1 < chunks ? readAhead(i + 1) : null;
        let base = 0;
        for (let k = 0; k < files.length; k++) {
          const a = Math.max(base, i * CHUNK);
          const b = Math.min(base + files[k]!.size, i * CHUNK + want);
          if (b > a) na.crypto_hash_sha256_update(sha[k]!, pt.subarray(a - i * CHUNK, b - i * CHUNK));
          base += files[k]!.size;
        }
        fr.append(chunkLeaf(na, sealChunk(na, st, pt, i + 1 === chunks)));
        na.memzero(pt);
        meter.update(i * CHUNK + want, i + 1 === chunks);
      }
      const evFiles: EvFile[] = files.map((f, k) => ({ name: f.name, size: f.size, sha256: na.crypto_hash_sha256_final(sha[k]!) }));
      const now = Math.floor(Date.now() / 1000);
      const id = uuid7(na);
      let manifest: JsonObject;
      try {
        manifest = manifestNew(
          na,
          {
            id,
            fromState: me.state,
            fromPoc: me.poc,
            recipients: rcpts,
            ...(opts.case ? { case: opts.case } : {}),
            ...(opts.request ? { request: opts.request } : {}),
            ...(opts.notes ? { notes: opts.notes } : {}),
            created: now,
            retainUntil: now + opts.retainDays * 86400,
            files: evFiles,
            streamHeader: header,
            merkleRoot: fr.root(),
            key,
          },
          this.client.id,
        );
      } catch (e) {
        throw new Refusal(e instanceof ProtoError ? e.code : 'EVIDENCE_INVALID', 'The package could not be sealed.', e instanceof ProtoError ? e.detail : String(e));
      }
      /* the resume state: the content key only sealed to this officer's own key */
      const state: UploadState = {
        id,
        names: files.map((f) => f.name),
        sizes: files.map((f) => f.size),
        modified: files.map((f) => f.lastModified),
        header: b64urlEncode(header),
        sealedKey: b64urlEncode(na.crypto_box_seal(key, this.client.id.boxPk)),
      };
      const body = jcsBytes(manifest);
      for (let attempt = 0; ; attempt++) {
        const r = await this.send('POST', '/v1/evidence', { body, length: ciphertextSize(total) });
        if ((r.status === 503 || r.status === 429) && attempt < RETRIES) {
          await sleep(1000);
          continue;
        }
        if (r.status !== 201) throw await this.hubError(r, 'the evidence package');
        break;
      }
      saveUpload(this.client.base, state);
      await this.upload(id, key, header, files, on);
      forgetUpload(this.client.base, id);
      let li;
      try {
        li = await this.client.proveIncluded(entryLeafHash(na, LOG_KIND_MANIFEST, body), `The manifest of package ${id}`);
      } catch (e) {
        throw new Refusal('NOT_LOGGED', `The hub holds package ${id} but did not log its manifest.`, e instanceof Refusal ? e.detail : String(e));
      }
      return { id, logIndex: li.index };
    } finally {
      na.memzero(key);
    }
  }

  /* An upload interrupted (a reload, a dropped connection) goes on with the same files:
   * they are sealed again from the start and the chunks the hub holds are skipped. */
  async resume(state: UploadState, files: File[], on?: OnProgress): Promise<{ id: string; logIndex: number }> {
    const na = this.na;
    if (files.length !== state.names.length || files.some((f, i) => f.name !== state.names[i] || f.size !== state.sizes[i]))
      throw new EvidenceRefusal('INVALID_ARGUMENT', `Choose the same files, in the same order: ${state.names.map(safe).join(', ')}.`, 'ev.resume.sameFiles', { names: state.names.map(safe).join(', ') });
    let key: Uint8Array;
    try {
      key = na.crypto_box_seal_open(b64urlDecode(state.sealedKey), this.client.id.boxPk, this.client.id.boxSk);
    } catch {
      throw new Refusal('CRYPTO_DECRYPT', 'This unfinished upload was started with another key.');
    }
    try {
      await this.upload(state.id, key, b64urlDecode(state.header, 24), files, on);
    } finally {
      na.memzero(key);
    }
    forgetUpload(this.client.base, state.id);
    const pkg = await this.package(state.id);
    return { id: state.id, logIndex: pkg.logIndex };
  }

  private async upload(id: string, key: Uint8Array, header: Uint8Array, files: File[], on?: OnProgress): Promise<void> {
    const na = this.na;
    const path = `/v1/evidence/${id}/upload`;
    const totalPt = files.reduce((a, f) => a + f.size, 0);
    const total = ciphertextSize(totalPt);
    const chunks = chunkCount(totalPt);
    const reader = new FileReader(files);
    let meter: Meter | null = null;
    let failures = 0;
    for (;;) {
      /* the hub's durable offset */
      let offset: number;
      try {
        const r = await this.send('HEAD', path);
        if (r.status === 503 || r.status === 429) throw new Error(`HTTP ${r.status}`);
        if (r.status !== 200) throw await this.hubError(r, `the upload of package ${id}`);
        offset = Number(r.headers.get('Upload-Offset'));
        if (!Number.isSafeInteger(offset) || offset < 0 || offset > total || (offset % CHUNK_CT !== 0 && offset !== total)) throw new Refusal('EVIDENCE_OFFSET', `The hub's upload offset ${safe(r.headers.get('Upload-Offset') ?? '')} is not a chunk boundary.`);
      } catch (e) {
        if (e instanceof Refusal && e.code !== 'HUB_UNREACHABLE') throw e;
        if (++failures > RETRIES) throw e instanceof Refusal ? e : new Refusal('HUB_UNREACHABLE', 'The hub could not be reached.');
        await sleep(1000);
        continue;
      }
      if (!meter) meter = new Meter('upload', total, offset, on);
      if (offset === total) {
        meter.update(total, true);
        return;
      }
      const st = streamStart(na, key, header);
      /* chunk i+1 is read and sealed while chunk i is on the wire */
      const seal = async (i: number): Promise<Uint8Array> => {
        const want = Math.min(CHUNK, totalPt - i * CHUNK);
        const pt = await reader.read(i * CHUNK, want);
        const ct = sealChunk(na, st, pt, i + 1 === chunks);
        na.memzero(pt);
        return ct;
      };
      let pos = 0;
      let restart = false;
      const ahead = (i: number): Promise<Uint8Array> => {
        const p = seal(i);
        p.catch(() => undefined); /* awaited in turn; never an unhandled rejection */
        return p;
      };
      let next: Promise<Uint8Array> | null = ahead(0);
      for (let i = 0; i < chunks && !restart; i++) {
        const ct = await next!;
        next = i + 1 < chunks ? ahead(i + 1) : null;
        const ctLen = ct.length;
        if (pos + ctLen <= offset) {
          pos += ctLen; /* the hub has it (sealed anyway: the stream's state chains the chunks) */
          continue;
        }
        let r: Response;
        try {
          r = await this.send('PATCH', path, { body: ct, contentType: 'application/offset+octet-stream', offset: pos });
        } catch {
          /* the answer was lost: the chunk may or may not be durable; ask the hub */
          if (++failures > RETRIES) throw new Refusal('HUB_UNREACHABLE', `The upload of package ${id} broke at chunk ${i} and did not resume.`);
          await sleep(1000);
          restart = true;
          break;
        }
        if (r.status === 204) {
          failures = 0;
          pos += ctLen;
          meter.update(pos, i + 1 === chunks);
          continue;
        }
        if (r.status === 409) {
          restart = true; /* the hub's offset moved: ask again */
          break;
        }
        if ((r.status === 503 || r.status === 429) && ++failures <= RETRIES) {
          await sleep(1000);
          restart = true;
          break;
        }
        throw await this.hubError(r, `chunk ${i} of package ${id}`);
      }
      if (next) await next.catch(() => undefined); /* sealed ahead, not sent: let it settle */
      if (!restart) return;
    }
  }
}

/* ---- the resume state, in this browser (per hub) ---- */

export function pendingUploads(hub: string): UploadState[] {
  const out: UploadState[] = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (!k || !k.startsWith(RESUME_PREFIX + hub + ':')) continue;
      try {
        const v = JSON.parse(localStorage.getItem(k) ?? '') as UploadState;
        if (uuidValid(v.id) && Array.isArray(v.names) && Array.isArray(v.sizes) && typeof v.header === 'string' && typeof v.sealedKey === 'string') out.push(v);
      } catch {
        /* a damaged entry: not offered */
      }
    }
  } catch {
    /* storage disabled */
  }
  return out;
}

function saveUpload(hub: string, s: UploadState): void {
  try {
    localStorage.setItem(`${RESUME_PREFIX}${hub}:${s.id}`, JSON.stringify(s));
  } catch {
    /* storage disabled: the upload still runs, it cannot resume after a reload */
  }
}

export function forgetUpload(hub: string, id: string): void {
  try {
    localStorage.removeItem(`${RESUME_PREFIX}${hub}:${id}`);
  } catch {
    /* storage disabled */
  }
}


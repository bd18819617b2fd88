/* ParleyClient: the page's verified client. It follows docs/protocol.md §12 ("What a
 * client must verify") step by step, as `parley` does (src/cli/msg_verify.c, cmd_msg.c,
 * cmd_directory.c, cmd_log.c). Anything not verified is either refused (Refusal, with a
 * sentence an officer understands) or handed back wrapped as the hub's word (HubWord). */
import type { Identity } from './keys';
import type { Sodium } from './sodium';

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

/* Where the trust state lives (pins, last checkpoint, settings): strings by key. */
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
export function memoryTrustStore(): TrustStore {
  const m = new Map<string, string>();
  return { get: (k) => m.get(k) ?? null, set: (k, v) => void m.set(k, v) };
}

/* The hub's unsigned claim: shown as such, never as verified fact. */
export interface HubWord<T> {
  hub: T;
}

export type Lang = 'ar' | 'zh' | 'en' | 'fr' | 'ru' | 'es';
export const LANGS: readonly Lang[] = ['ar', 'zh', 'en', 'fr', 'ru', 'es'];

export interface TemplateField {
  name: string;
  type: string; /* line | text | date | datetime | enum | ... as templates/*.json */
  required: boolean;
  max?: number;
  values?: string[];
  labels: Record<Lang, string>;
  [more: string]: unknown;
}

export interface Template {
  kind: string;
  title: Record<Lang, string>;
  source?: string;
  fields: TemplateField[];
}

export function templates(): Template[] {
  throw new Refusal('NOT_YET', 'Not implemented yet.');
}

/* As libparley's parley_template_validate: an empty list when the content is valid. */
export function validateContent(kind: string, content: Record<string, unknown>): { field: string; problem: string }[] {
  void kind;
  void content;
  throw new Refusal('NOT_YET', 'Not implemented yet.');
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
  availability: unknown;
  signingKey: Uint8Array;
  keyId: string;
  encKey?: { key: Uint8Array; keyId: string; expires: string };
}

export interface TrustBadge {
  rootPinned: boolean;
  rootConfirmed: boolean;
  firstContact: boolean;
  recordSignature: boolean;
  logInclusion: boolean;
  directoryCommitment: boolean;
  witnesses: { required: number; valid: number };
  operatorReplacement?: { reason: string; accepted: boolean };
}

export interface VerifiedRecord {
  state: string;
  name: string;
  region: string;
  version: number;
  rootFingerprint: string;
  record: any /* the verified JSON */;
  pocs: VerifiedPoc[];
  badge: TrustBadge;
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
}

export interface Draft {
  kind: string;
  priority: 'routine' | 'urgent' | 'critical';
  tlp: string;
  recipients: Party[];
  content: Record<string, unknown>;
  language: string;
  case?: string;
  in_reply_to?: string;
  legal_basis?: LegalBasis;
}

export type StreamState = 'connecting' | 'live' | 'retrying';

export class ParleyClient {
  constructor(
    readonly na: Sodium,
    readonly hubUrl: string,
    readonly id: Identity,
    readonly trust: TrustStore,
  ) {}

  async whoami(): Promise<{ role: string; state?: string; poc?: string }> {
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  async states(): Promise<HubWord<any[]>> {
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  async search(q: { state?: string; region?: string; role?: string; language?: string; name?: string }): Promise<HubWord<any[]>> {
    void q;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  /* §12.2 step 5 including 5a-5d. */
  async verifiedRecord(code: string): Promise<VerifiedRecord> {
    void code;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  /* Like `parley directory trust`: the root key's fingerprint confirmed out of band. */
  async trustFingerprint(code: string, fingerprintHex: string): Promise<void> {
    void code;
    void fingerprintHex;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  async exportDirectory(format: 'json' | 'csv' | 'vcard'): Promise<Blob> {
    void format;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  async inbox(after?: number, limit?: number): Promise<{ items: InboxItem[]; next: number }> {
    void after;
    void limit;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  async outbox(after?: number, limit?: number): Promise<{ items: InboxItem[]; next: number }> {
    void after;
    void limit;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  /* SSE over fetch() with a signed request; reconnects with Last-Event-ID. Returns a stop function. */
  stream(after: number | null, on: { item(i: InboxItem): void; state(s: StreamState, why?: string): void }): () => void {
    void after;
    void on;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  /* §12.3 and §12.4. */
  async open(id: string): Promise<OpenedMessage> {
    void id;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  /* §12.5 step 22; inclusion checked after. */
  async acknowledge(id: string): Promise<{ leafIndex: number }> {
    void id;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  /* §12.5 step 23; validates first (Refusal TEMPLATE_FIELD naming the field). */
  async send(d: Draft): Promise<{ id: string; leafIndex: number }> {
    void d;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  /* §12.5 step 21. */
  async reply(id: string, d: Omit<Draft, 'recipients' | 'case' | 'in_reply_to'>): Promise<{ id: string; leafIndex: number }> {
    void id;
    void d;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
  async caseView(caseId: string): Promise<{ messages: HubWord<any[]> }> {
    void caseId;
    throw new Refusal('NOT_YET', 'Not implemented yet.');
  }
}

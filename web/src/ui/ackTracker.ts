/* The outbox's acknowledgements, derived from verified receipts: a message is opened
 * (ParleyClient.open: envelope, log inclusion and every receipt verified) when its row is
 * shown, in the background, at most CONCURRENT at a time, the row shown last first. The
 * hub's status is never used here. */
import type { OpenedMessage, ParleyClient } from '../lib/client';
import { Refusal } from '../lib/client';

export type AckSummary =
  | { status: 'pending' }
  | { status: 'verified'; acked: string[]; waiting: string[]; badReceipts: number }
  | { status: 'refused'; why: string };

const CONCURRENT = 2;
const MAX_QUEUED = 40; /* rows scrolled past long ago are dropped, asked again if shown */

export function summarize(m: OpenedMessage): AckSummary {
  const states = Object.keys(m.ackByState).sort();
  return {
    status: 'verified',
    acked: states.filter((s) => m.ackByState[s]!.acknowledged),
    waiting: states.filter((s) => !m.ackByState[s]!.acknowledged),
    badReceipts: m.receipts.filter((r) => !r.verified).length,
  };
}

export class AckTracker {
  private results = new Map<string, AckSummary>();
  private queue: string[] = [];
  private running = 0;
  private closed = false;
  private listeners = new Set<() => void>();

  constructor(private client: ParleyClient) {}

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  get(id: string): AckSummary | undefined {
    return this.results.get(id);
  }

  /* A row with this message is on screen. */
  want(id: string): void {
    if (this.closed || this.results.has(id)) return;
    this.results.set(id, { status: 'pending' });
    this.queue.push(id);
    while (this.queue.length > MAX_QUEUED) this.results.delete(this.queue.shift()!);
    this.pump();
  }

  /* A message the officer opened themselves: its summary, without opening it again. */
  set(id: string, m: OpenedMessage): void {
    this.results.set(id, summarize(m));
    this.emit();
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.listeners.clear();
  }

  private emit(): void {
    this.listeners.forEach((f) => f());
  }

  private pump(): void {
    while (!this.closed && this.running < CONCURRENT && this.queue.length) {
      const id = this.queue.pop()!;
      this.running++;
      this.client
        .open(id)
        .then(
          (m) => this.results.set(id, summarize(m)),
          (e: unknown) => this.results.set(id, { status: 'refused', why: e instanceof Refusal ? e.officer : e instanceof Error ? e.message : String(e) }),
        )
        .finally(() => {
          this.running--;
          this.emit();
          this.pump();
        });
    }
  }
}

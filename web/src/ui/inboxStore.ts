/* The officer's inbox for the whole session: the history listed page by page, then the
 * live stream from where the listing stopped. Items are the hub's listing objects
 * (unsigned): the inbox shows them as the hub's word; the message view verifies. */
import type { InboxItem, ParleyClient, StreamState } from '../lib/client';

const PAGE = 500; /* the hub's largest page */
const MAX_ITEMS = 200000; /* a bound on what one page keeps in memory */

export type Connection = StreamState | 'loading' | 'stopped' | 'failed';

export class InboxStore {
  items: InboxItem[] = []; /* newest first */
  connection: Connection = 'loading';
  why = '';
  loadMs = 0;
  private seen = new Set<string>();
  private listeners = new Set<() => void>();
  private stop: (() => void) | null = null;
  private stopped = false;

  constructor(private client: ParleyClient) {}

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private emit(): void {
    this.listeners.forEach((f) => f());
  }

  /* Oldest first from the hub; kept newest first. */
  private add(batch: InboxItem[]): void {
    const fresh = batch.filter((i) => !this.seen.has(i.id));
    if (!fresh.length) return;
    fresh.forEach((i) => this.seen.add(i.id));
    fresh.sort((a, b) => b.seq - a.seq);
    const merged = fresh.concat(this.items);
    if (fresh.length > 1 || (this.items[0] && this.items[0].seq > fresh[0]!.seq)) merged.sort((a, b) => b.seq - a.seq);
    this.items = merged.slice(0, MAX_ITEMS);
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    let after = 0;
    try {
      for (;;) {
        const page = await this.client.inbox(after, PAGE);
        if (this.stopped) return;
        this.add(page.items);
        this.emit();
        if (page.items.length < PAGE || page.next <= after || this.items.length >= MAX_ITEMS) {
          after = Math.max(after, page.next);
          break;
        }
        after = page.next;
      }
    } catch (e) {
      this.connection = 'failed';
      this.why = e instanceof Error ? e.message : String(e);
      this.emit();
      return;
    }
    this.loadMs = performance.now() - t0;
    if (this.stopped) return;
    this.stop = this.client.stream(after, {
      item: (i) => {
        this.add([i]);
        this.emit();
      },
      state: (s, why) => {
        this.connection = s;
        this.why = why ?? '';
        this.emit();
      },
    });
  }

  close(): void {
    this.stopped = true;
    this.stop?.();
    this.stop = null;
    this.connection = 'stopped';
    this.listeners.clear();
  }
}

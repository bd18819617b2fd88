/* What the client reads from the hub is bounded (docs/protocol.md §12.1): every answer is
 * read as a stream with a byte cap (never whole first), one inbox event's data and one
 * line of the stream are capped, the error answer of a refused stream too; and a hub
 * member named "__proto__" never becomes an object's prototype. A fake fetch plays the
 * hub: an endless answer would hang a client that reads it whole. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryTrustStore, ParleyClient, Refusal, InboxItem } from '../src/lib/client';
import { readCapped } from '../src/lib/hub';
import { ParleyError } from '../src/lib/errors';
import { generateIdentity } from '../src/lib/keys';
import { sodiumReady } from '../src/lib/sodium';

const enc = new TextEncoder();

/* A body of `head`, then `chunk` again and again, without end (until the request is
 * aborted, as fetch's own body would be). */
function endless(head: string, chunk: string, signal?: AbortSignal | null): ReadableStream<Uint8Array> {
  const h = enc.encode(head);
  const c = enc.encode(chunk);
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (signal?.aborted) return ctrl.error(new Error('aborted'));
      ctrl.enqueue(sent ? c : h);
      sent = true;
    },
  });
}

function withFetch<T>(fake: (url: string, init: RequestInit) => Response, run: () => Promise<T>): Promise<T> {
  const real = globalThis.fetch;
  globalThis.fetch = (async (u: string | URL | Request, i?: RequestInit) => fake(String(u), i ?? {})) as typeof fetch;
  return run().finally(() => {
    globalThis.fetch = real;
  });
}

async function client(): Promise<ParleyClient> {
  const na = await sodiumReady();
  return new ParleyClient(na, 'http://hub.test', generateIdentity(na), memoryTrustStore());
}

/* Runs the inbox stream until `until` says so (or 10 s pass); returns what it reported. */
function streamUntil(c: ParleyClient, until: (states: string[], items: InboxItem[]) => boolean): Promise<{ states: string[]; items: InboxItem[] }> {
  return new Promise((resolve) => {
    const states: string[] = [];
    const items: InboxItem[] = [];
    let stop: () => void = () => undefined;
    const done = () => {
      clearTimeout(t);
      stop();
      resolve({ states, items });
    };
    const t = setTimeout(done, 10000);
    stop = c.stream(null, {
      item: (i) => {
        items.push(i);
        if (until(states, items)) done();
      },
      state: (s, why) => {
        states.push(`${s}${why ? `: ${why}` : ''}`);
        if (until(states, items)) done();
      },
    });
  });
}

test('readCapped refuses an answer longer than its cap without reading it whole', async () => {
  const short = await readCapped(new Response('hello'), 5);
  assert.equal(new TextDecoder().decode(short), 'hello');
  await assert.rejects(readCapped(new Response(endless('', 'x'.repeat(4096))), 1 << 20), (e: unknown) => e instanceof ParleyError && e.code === 'TOO_LARGE');
});

test("an endless hub answer is refused as too large, not read whole", { timeout: 60000 }, async () => {
  const c = await client();
  await withFetch(
    (_u, i) => new Response(endless('{"role":"', 'a'.repeat(1 << 20), i.signal), { status: 200 }),
    async () => {
      await assert.rejects(c.whoami(), (e: unknown) => e instanceof Refusal && e.code === 'TOO_LARGE');
    },
  );
});

test('a refused stream with an endless error answer is given up, not read whole', { timeout: 20000 }, async () => {
  const c = await client();
  const r = await withFetch(
    (_u, i) => new Response(endless('{"code":"FORBIDDEN","detail":"', 'b'.repeat(65536), i.signal), { status: 403 }),
    () => streamUntil(c, (s) => s.some((x) => x.startsWith('retrying'))),
  );
  assert.ok(r.states.some((x) => /refused the stream.*not retrying/.test(x)), r.states.join(' | '));
});

test("one inbox event's data is capped at 1 MiB: an endless event drops the connection", { timeout: 20000 }, async () => {
  const c = await client();
  const r = await withFetch(
    (_u, i) => new Response(endless('event: ready\ndata: {"keepalive_s":15}\n\n', `data: ${'c'.repeat(65536)}\n`, i.signal), { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    () => streamUntil(c, (s) => s.some((x) => x.startsWith('retrying'))),
  );
  assert.ok(r.states.includes('live'), r.states.join(' | '));
  assert.ok(r.states.some((x) => /more than 1048576 characters of data/.test(x)), r.states.join(' | '));
});

test('one line of the stream is capped: an endless line drops the connection', { timeout: 20000 }, async () => {
  const c = await client();
  const r = await withFetch(
    (_u, i) => new Response(endless('event: ready\ndata: {}\n\ndata: ', 'd'.repeat(65536), i.signal), { status: 200 }),
    () => streamUntil(c, (s) => s.some((x) => x.startsWith('retrying'))),
  );
  assert.ok(r.states.some((x) => /a line of the stream is longer than/.test(x)), r.states.join(' | '));
});

test('a hub member named "__proto__" does not become the prototype of what the client hands on', { timeout: 20000 }, async () => {
  const c = await client();
  const id = '0b9c6f0e-4d3a-4c1e-9a7b-2f1d8e6c5a40';
  const ev = `event: ready\ndata: {}\n\nevent: message\nid: 1\ndata: {"id":"${id}","seq":1,"__proto__":{"polluted":"yes"},"kind":"notification"}\n\n`;
  const r = await withFetch(
    (_u, i) => new Response(endless(ev, ': keep-alive\n', i.signal), { status: 200 }),
    () => streamUntil(c, (_s, items) => items.length > 0),
  );
  assert.equal(r.items.length, 1);
  const hub = r.items[0]!.hub as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(hub), Object.prototype);
  assert.equal(hub['polluted'], undefined);
  assert.equal(hub['kind'], 'notification');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

/* The page's service worker (scope /app/dl/): it does one thing, stream a verified
 * download to the browser's download manager. The page registers a download with a
 * MessagePort and a random token, then opens /app/dl/<token>; this worker answers that
 * request with a stream fed through the port, one verified chunk at a time, asking the
 * page for more only as the browser writes to disk (so neither holds the file). The page
 * aborts the stream when a chunk or a file's SHA-256 does not verify: the browser then
 * fails the download and never completes a file with unverified bytes. Every other
 * request goes to the network untouched. */

interface Pending {
  port: MessagePort;
  name: string;
  size: number;
}
interface FetchEv {
  request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface ExtEv {
  waitUntil(p: Promise<unknown>): void;
}
interface MsgEv {
  data: unknown;
  ports: readonly MessagePort[];
}
interface SwGlobal {
  addEventListener(type: 'install', f: (e: ExtEv) => void): void;
  addEventListener(type: 'fetch', f: (e: FetchEv) => void): void;
  addEventListener(type: 'message', f: (e: MsgEv) => void): void;
  skipWaiting(): Promise<void>;
  registration: { scope: string };
}
const sw = self as unknown as SwGlobal;

const TOKEN = /^[0-9a-f]{32}$/;
const MAX_PENDING = 64;
const pending = new Map<string, Pending>();

sw.addEventListener('install', (e) => e.waitUntil(sw.skipWaiting()));

sw.addEventListener('message', (e) => {
  const d = e.data as { type?: unknown; token?: unknown; name?: unknown; size?: unknown };
  const port = e.ports[0];
  if (!port || d?.type !== 'parley-download') return;
  if (typeof d.token !== 'string' || !TOKEN.test(d.token) || typeof d.name !== 'string' || d.name.length > 255 || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0 || pending.size >= MAX_PENDING) {
    port.postMessage({ type: 'refused' });
    return;
  }
  pending.set(d.token, { port, name: d.name, size: d.size });
  port.postMessage({ type: 'registered' });
});

/* RFC 6266 / 8187: an ASCII fallback and the UTF-8 name */
function disposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

sw.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  const scope = new URL(sw.registration.scope); /* /app/dl/ */
  const prefix = scope.pathname;
  if (url.origin !== scope.origin || !url.pathname.startsWith(prefix)) return;
  const token = url.pathname.slice(prefix.length);
  const p = pending.get(token);
  if (!p) {
    e.respondWith(new Response('no such download', { status: 404, headers: { 'Content-Type': 'text/plain' } }));
    return;
  }
  pending.delete(token); /* one request per download */
  const { port } = p;
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        port.onmessage = (m: MessageEvent) => {
          const d = m.data as { type?: string; bytes?: ArrayBuffer; reason?: string };
          if (d.type === 'data' && d.bytes instanceof ArrayBuffer) c.enqueue(new Uint8Array(d.bytes));
          else if (d.type === 'end') {
            c.close();
            port.close();
          } else if (d.type === 'abort') {
            c.error(new Error(typeof d.reason === 'string' ? d.reason : 'refused'));
            port.close();
          }
        };
        port.postMessage({ type: 'started' });
      },
      pull() {
        port.postMessage({ type: 'pull' });
      },
      cancel() {
        port.postMessage({ type: 'cancel' });
        port.close();
      },
    },
    new CountQueuingStrategy({ highWaterMark: 4 }),
  );
  e.respondWith(
    new Response(body, {
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': disposition(p.name),
        'Content-Length': String(p.size),
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-store',
      },
    }),
  );
});

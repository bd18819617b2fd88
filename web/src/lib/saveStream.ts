/* Saving a verified download straight to the browser's download manager, chunk by
 * chunk, through the page's service worker (src/sw.ts): nothing holds the whole file,
 * neither the page nor the browser's blob storage. A sink is written only with bytes
 * that verified; abort() makes the browser fail the download, so a file whose chunk or
 * SHA-256 did not verify is never completed. Without a service worker (a browser that
 * has none, a private window that refuses it) the caller keeps the file as a Blob. */
import { Refusal } from './client';

export interface FileSink {
  write(bytes: Uint8Array): Promise<void>; /* resolves when the browser wants more */
  close(): Promise<void>;
  abort(reason: string): void;
}

const START_MS = 15000;
let worker: Promise<ServiceWorker | null> | null = null;

/* Registers the worker once (at start-up, so it is active by the first download). */
export function saveWorker(): Promise<ServiceWorker | null> {
  if (!worker) {
    worker = (async () => {
      try {
        if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return null;
        /* the CSP requires Trusted Types and allows one policy, parley-sw, for this URL only */
        const tt = (globalThis as { trustedTypes?: { createPolicy(n: string, p: { createScriptURL(u: string): string }): { createScriptURL(u: string): unknown } } }).trustedTypes;
        const url = tt
          ? tt.createPolicy('parley-sw', {
              createScriptURL: (u: string) => {
                if (u !== 'sw.js') throw new TypeError('not the service worker');
                return u;
              },
            }).createScriptURL('sw.js')
          : 'sw.js';
        /* scoped to the download URLs alone: the page itself is not controlled, so its
         * requests to the hub never pass through the worker */
        const reg = await navigator.serviceWorker.register(url as string, { scope: './dl/' });
        for (let i = 0; i < 100 && !reg.active; i++) await new Promise((r) => setTimeout(r, 100));
        return reg.active;
      } catch {
        return null;
      }
    })();
  }
  return worker;
}

function token(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/* Starts the browser's download of a file of `size` bytes named `name`. */
export async function openSink(sw: ServiceWorker, name: string, size: number): Promise<FileSink> {
  const ch = new MessageChannel();
  const port = ch.port1;
  let credits = 0;
  let failed: string | null = null;
  let wake: (() => void) | null = null;
  const waiters: Record<string, (() => void) | undefined> = {};
  port.onmessage = (m: MessageEvent) => {
    const t = (m.data as { type?: string })?.type;
    if (t === 'pull') credits++;
    else if (t === 'cancel') failed = 'The download was cancelled in the browser.';
    else if (t === 'refused') failed = 'The browser refused the download.';
    if (t && waiters[t]) waiters[t]!();
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const waitFor = (type: string, what: string) =>
    new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Refusal('DOWNLOAD_NOT_STARTED', `The browser did not start the download of ${what}.`)), START_MS);
      waiters[type] = () => {
        clearTimeout(timer);
        res();
      };
    });
  const t = token();
  const registered = waitFor('registered', name);
  sw.postMessage({ type: 'parley-download', token: t, name, size }, [ch.port2]);
  await registered;
  const started = waitFor('started', name);
  /* a frame's navigation goes through the worker (an <a download> does not, in
   * Chromium); the attachment answer makes it a download, nothing is shown */
  const frame = document.createElement('iframe');
  frame.hidden = true;
  frame.title = name;
  frame.src = `dl/${t}`;
  document.body.appendChild(frame);
  const done = () => setTimeout(() => frame.remove(), 1000);
  try {
    await started;
  } catch (e) {
    frame.remove();
    throw e;
  }
  return {
    async write(bytes: Uint8Array) {
      while (credits === 0 && failed === null) await new Promise<void>((r) => (wake = r));
      if (failed !== null) throw new Refusal('DOWNLOAD_CANCELLED', failed);
      credits--;
      const copy = bytes.slice(); /* its buffer moves to the worker */
      port.postMessage({ type: 'data', bytes: copy.buffer }, [copy.buffer]);
    },
    async close() {
      if (failed !== null) throw new Refusal('DOWNLOAD_CANCELLED', failed);
      port.postMessage({ type: 'end' });
      port.close();
      done();
    },
    abort(reason: string) {
      failed = failed ?? reason;
      port.postMessage({ type: 'abort', reason });
      port.close();
      done();
    },
  };
}

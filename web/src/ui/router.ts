/* The hash router: #/inbox, #/outbox, #/message/ID, #/compose, #/compose?reply=ID,
 * #/case/ID, #/directory, #/state/CODE, #/key, #/evidence, #/evidence/ID,
 * #/evidence-send, #/evidence-send?case=ID. Ids in the hash are bounded and checked
 * against a plain character set before any screen sees them. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'inbox' }
  | { name: 'outbox' }
  | { name: 'message'; id: string }
  | { name: 'compose'; reply?: string }
  | { name: 'case'; id: string }
  | { name: 'directory' }
  | { name: 'state'; code: string }
  | { name: 'key' }
  | { name: 'evidence' }
  | { name: 'evidence-item'; id: string }
  | { name: 'evidence-send'; case?: string }
  | { name: 'unknown'; hash: string };

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CODE = /^[A-Z]{3}$/;

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#\/?/, '').slice(0, 400);
  const [path = '', query = ''] = h.split('?', 2);
  const [first = '', second = '', ...rest] = path.split('/');
  const arg = decodeURIComponentSafe(second);
  const params = new URLSearchParams(query);
  if (rest.length) return { name: 'unknown', hash };
  switch (first) {
    case '':
    case 'inbox':
      return { name: 'inbox' };
    case 'outbox':
      return { name: 'outbox' };
    case 'message':
      return ID.test(arg) ? { name: 'message', id: arg } : { name: 'unknown', hash };
    case 'compose': {
      const reply = params.get('reply');
      if (reply === null) return { name: 'compose' };
      return ID.test(reply) ? { name: 'compose', reply } : { name: 'unknown', hash };
    }
    case 'case':
      return ID.test(arg) ? { name: 'case', id: arg } : { name: 'unknown', hash };
    case 'directory':
      return { name: 'directory' };
    case 'state':
      return CODE.test(arg) ? { name: 'state', code: arg } : { name: 'unknown', hash };
    case 'key':
      return { name: 'key' };
    case 'evidence':
      if (!second) return { name: 'evidence' };
      return ID.test(arg) ? { name: 'evidence-item', id: arg } : { name: 'unknown', hash };
    case 'evidence-send': {
      const c = params.get('case');
      if (c === null || c === '') return { name: 'evidence-send' };
      return ID.test(c) ? { name: 'evidence-send', case: c } : { name: 'unknown', hash };
    }
    default:
      return { name: 'unknown', hash };
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}

export function href(r: Route): string {
  switch (r.name) {
    case 'message':
      return `#/message/${encodeURIComponent(r.id)}`;
    case 'compose':
      return r.reply ? `#/compose?reply=${encodeURIComponent(r.reply)}` : '#/compose';
    case 'case':
      return `#/case/${encodeURIComponent(r.id)}`;
    case 'state':
      return `#/state/${encodeURIComponent(r.code)}`;
    case 'evidence-item':
      return `#/evidence/${encodeURIComponent(r.id)}`;
    case 'evidence-send':
      return r.case ? `#/evidence-send?case=${encodeURIComponent(r.case)}` : '#/evidence-send';
    case 'unknown':
      return r.hash;
    default:
      return `#/${r.name}`;
  }
}

export function go(r: Route): void {
  location.hash = href(r);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

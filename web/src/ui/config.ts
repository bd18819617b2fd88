/* The page's settings. Served by `parley web` from the officer's own machine, the app
 * finds config.json beside it: the hub's URL and the witnesses the officer's config
 * requires. Served by the hub itself (/app/), there is none (404) and the hub is the
 * page's own origin, with no witness required (the CLI's default). */
export interface AppConfig {
  hub: string; /* scheme://host[:port], no trailing slash */
  witnesses: string[];
  witnessesRequired: number;
  fromFile: boolean;
}

const MAX_BYTES = 16384;

function sameOrigin(): AppConfig {
  return { hub: location.origin, witnesses: [], witnessesRequired: 0, fromFile: false };
}

/* config.json exactly as `parley web` writes it: an object with "hub" (an http(s) URL
 * with no credentials, query or fragment), "witnesses" (at most 8 verifier keys) and
 * "witnesses_required" (0..their number), and nothing else. Anything else stops the page:
 * falling back to another hub would be worse than not starting. */
export function parseConfig(text: string): AppConfig {
  if (text.length > MAX_BYTES) throw new Error('config.json is too large');
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch {
    throw new Error('config.json is not JSON');
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error('config.json is not a JSON object');
  const o = c as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== 'hub' && k !== 'witnesses' && k !== 'witnesses_required');
  if (extra.length) throw new Error(`config.json: unknown member ${JSON.stringify(extra[0]).slice(0, 80)}`);
  let hub: URL | null = null;
  try {
    hub = typeof o['hub'] === 'string' && o['hub'].length <= 2048 ? new URL(o['hub']) : null;
  } catch {
    hub = null;
  }
  if (!hub || (hub.protocol !== 'https:' && hub.protocol !== 'http:') || hub.username || hub.password || hub.search || hub.hash)
    throw new Error('config.json: hub is not an http(s) URL');
  const w = o['witnesses'];
  if (!Array.isArray(w) || w.length > 8 || !w.every((x) => typeof x === 'string' && x.length > 0 && x.length < 512))
    throw new Error('config.json: witnesses must be a list of at most 8 verifier keys');
  const req = o['witnesses_required'];
  if (typeof req !== 'number' || !Number.isInteger(req) || req < 0 || req > w.length) throw new Error('config.json: witnesses_required out of range');
  return { hub: hub.origin + hub.pathname.replace(/\/+$/, ''), witnesses: w as string[], witnessesRequired: req, fromFile: true };
}

export async function loadConfig(): Promise<AppConfig> {
  let r: Response;
  try {
    r = await fetch('config.json', { cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch {
    return sameOrigin();
  }
  if (r.status === 404) return sameOrigin();
  if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
  return parseConfig(await r.text());
}

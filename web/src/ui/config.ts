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

/* config.json as `parley web` writes it: {"hub", "witnesses": [...], "witnesses_required"}. */
export function parseConfig(text: string): AppConfig {
  if (text.length > MAX_BYTES) throw new Error('config.json is too large');
  const c = JSON.parse(text) as Record<string, unknown>;
  const hub = typeof c['hub'] === 'string' ? new URL(c['hub']) : null;
  if (!hub || (hub.protocol !== 'https:' && hub.protocol !== 'http:')) throw new Error('config.json: hub is not an http(s) URL');
  const w = Array.isArray(c['witnesses']) ? c['witnesses'] : [];
  if (w.length > 8 || !w.every((x) => typeof x === 'string' && x.length < 512)) throw new Error('config.json: witnesses must be at most 8 verifier keys');
  const req = c['witnesses_required'] ?? 0;
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

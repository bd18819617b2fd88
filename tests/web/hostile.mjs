// The hostile-hub cases (tests/hostile/cases/*.json) against the page's verified client
// in the real chromium (playwright-core). This is the controller: it opens the web app
// through the operator's proxy, loads the client (build/web-test/harness-browser.js)
// into the page, and answers each `parley` step of tests/hostile/runner.py (which runs
// every case unchanged, with PARLEY pointing at hostile-shim.mjs) with the same action
// done by ParleyClient in the page, rendered as `parley` words it: the verified part,
// the hub's word apart and escaped, and a Refusal as "REFUSED: <its officer text>".
// The `read` and `directory show` steps are also done in the real web app (web/src/ui/, one
// browser context per officer, the key file opened on its key screen, under its own
// CSP): it must show the same verdict, a refusal with the same officer text in
// #refusal, or the message from its signed sender with no raw control character.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const need = (n) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set`);
  return v;
};
const require = createRequire(join(need('PARLEY_SRC'), 'web', 'package.json'));
const { chromium } = require('playwright-core');
const PROXY = need('PROXY');
const WORK = need('WORK');
const OUT = need('OUT');
const harness = readFileSync(join(need('PARLEY_WEB_TESTS'), 'harness-browser.js'), 'utf8');

const profile = mkdtempSync(join(tmpdir(), 'parley-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: need('CHROMIUM'),
  headless: true,
  bypassCSP: true /* to add the test's client bundle beside the app's own */,
  viewport: { width: 1100, height: 760 },
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] ?? (await context.newPage());
const browser = await chromium.launch({
  executablePath: need('CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const uiPages = new Map();

/* The real app, as this officer: a fresh context (its own storage), the key opened. */
async function uiPage(user) {
  let p = uiPages.get(user);
  if (p) return p;
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  p = await ctx.newPage();
  p.on('pageerror', (e) => logs.push(`ui pageerror (${user}): ${e.message}`));
  await p.goto(`${PROXY}/app/`);
  await p.setInputFiles('#key-file', join(WORK, `${user}.key`));
  await p.click('#open-key');
  await p.waitForSelector('#nav', { timeout: 30000 });
  uiPages.set(user, p);
  return p;
}

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/* The same step in the app; returns what disagrees with the client's verdict, or null. */
async function inUi(user, args, r) {
  const [cmd, a1, a2] = args;
  let hash;
  let okSel;
  if (cmd === 'read') {
    hash = `#/message/${a1}`;
    okSel = `#message[data-id="${a1}"]`;
  } else if (cmd === 'directory' && a1 === 'show') {
    hash = `#/state/${a2}`;
    okSel = '#trust-badge';
  } else return null;
  const p = await uiPage(user);
  await p.evaluate(() => {
    location.hash = '#/key';
  });
  await p.waitForFunction(() => !document.querySelector('#message, #refusal, #trust-badge'), null, { timeout: 30000 });
  await p.evaluate((h) => {
    location.hash = h;
  }, hash);
  await p.waitForSelector(`${okSel}, #refusal`, { timeout: 60000 });
  const refusal = await p.$('#refusal');
  const text = await p.evaluate(() => document.body.innerText);
  const name = `${cmd}-${(a2 ?? a1).slice(0, 8)}-${r.kind === 'refusal' ? 'refused' : 'shown'}`;
  if (shots < 60) await p.screenshot({ path: join(OUT, `ui-${String(++shots).padStart(2, '0')}-${user}-${name}.png`), fullPage: true });
  if (CONTROL.test(text)) return `the app shows raw control characters: ${JSON.stringify(text.match(CONTROL))}`;
  if (r.kind === 'refusal') {
    if (!refusal) return `the client refused (${r.refusal.code}) but the app shows ${cmd === 'read' ? 'the message' : 'the record'}`;
    const shown = await refusal.innerText();
    if (!shown.includes(r.refusal.officer)) return `the app's refusal does not say what the client's says: ${JSON.stringify(shown)}`;
    return null;
  }
  if (refusal) return `the app refuses what the client verified: ${JSON.stringify(await refusal.innerText())}`;
  if (r.kind === 'read') {
    const from = await p.$eval('#msg-from', (e) => e.textContent);
    const h = r.msg.header;
    if (!r.msg.ping && !(from.includes(h.from.state) && from.includes(h.from.poc))) return `the app shows the sender as ${JSON.stringify(from)}, not ${h.from.state}/${h.from.poc}`;
  }
  return null;
}
const logs = [];
page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
await page.goto(`${PROXY}/app/`);
await page.addScriptTag({ content: harness, type: 'module' });
await page.waitForFunction(() => 'ParleyHarness' in globalThis, null, { timeout: 20000 });
await page.screenshot({ path: join(OUT, 'hostile-page.png') });

/* One `parley` command, done in the page by ParleyClient; a plain result to render. */
async function inPage(user, keyText, args) {
  return page.evaluate(
    async ({ user, keyText, args, proxy }) => {
      const H = globalThis.ParleyHarness;
      const na = await H.sodiumReady();
      const store = {
        get: (k) => localStorage.getItem(`hostile:${user}:${k}`),
        set: (k, v) => localStorage.setItem(`hostile:${user}:${k}`, v),
      };
      const c = new H.ParleyClient(na, proxy, H.openSecretKeyFile(na, keyText, null), store);
      const strip = (v) => JSON.parse(JSON.stringify(v, (k, x) => (x instanceof Uint8Array ? undefined : x)));
      const opt = (name) => {
        const i = args.indexOf(name);
        return i >= 0 ? args[i + 1] : undefined;
      };
      const fields = () => {
        const content = {};
        args.forEach((a, i) => {
          if (a !== '--field') return;
          const kv = args[i + 1];
          const eq = kv.indexOf('=');
          const v = kv.slice(eq + 1);
          content[kv.slice(0, eq)] = v.startsWith('[') || v === 'true' || v === 'false' || /^[0-9]/.test(v) ? JSON.parse(v) : v;
        });
        return content;
      };
      try {
        const [cmd, a1, a2] = args;
        if (cmd === 'read') return { kind: 'read', msg: strip(await c.open(a1)) };
        if (cmd === 'ack') return { kind: 'ack', id: a1, res: await c.acknowledge(a1) };
        if (cmd === 'reply') {
          const r = await c.reply(a1, { kind: opt('--kind') ?? 'response', priority: opt('--priority') ?? 'routine', tlp: opt('--tlp') ?? 'TLP:AMBER', language: opt('--language') ?? 'en', content: fields() });
          return { kind: 'sent', priority: opt('--priority') ?? 'routine', what: opt('--kind') ?? 'response', res: r };
        }
        if (cmd === 'send') {
          const recipients = args.filter((_, i) => args[i - 1] === '--to').map((t) => ({ state: t.slice(0, 3), poc: t.slice(4) }));
          const r = await c.send({ kind: opt('--kind'), priority: opt('--priority') ?? 'routine', tlp: opt('--tlp') ?? 'TLP:AMBER', language: opt('--language') ?? 'en', recipients, content: fields() });
          return { kind: 'sent', priority: opt('--priority') ?? 'routine', what: opt('--kind'), res: r };
        }
        if (cmd === 'directory' && a1 === 'show') return { kind: 'record', rec: strip(await c.verifiedRecord(a2, { allowFlagged: true })) };
        if (cmd === 'inbox' && a1 !== '--sent') return { kind: 'inbox', list: strip(await c.inbox()) };
        if (cmd === 'inbox') {
          const list = strip(await c.outbox());
          const opened = [];
          for (const it of list.items) {
            try {
              opened.push({ id: it.id, msg: strip(await c.open(it.id)) });
            } catch (e) {
              if (!(e instanceof H.Refusal)) throw e;
              opened.push({ id: it.id, refusal: { code: e.code, officer: e.officer, detail: e.detail } });
            }
          }
          return { kind: 'outbox', list, opened };
        }
        if (cmd === 'api' && a1 === 'GET') return { kind: 'api', res: await c.hubGet(a2) };
        return { kind: 'unsupported' };
      } catch (e) {
        if (e instanceof H.Refusal) return { kind: 'refusal', refusal: { code: e.code, officer: e.officer, detail: e.detail } };
        return { kind: 'crash', error: String(e && e.stack ? e.stack : e) };
      }
    },
    { user, keyText, args, proxy: PROXY },
  );
}

/* ---- rendering, in `parley`'s words ---- */
const safe = (s) =>
  typeof s !== 'string'
    ? '(missing)'
    : s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
        const n = c.charCodeAt(0);
        if (c === '\n') return '\\n';
        if (c === '\t') return '\\t';
        return n < 0x80 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
      });
const num = (v) => (typeof v === 'number' ? String(v) : '(missing)');
const party = (p) => (p && typeof p === 'object' ? `${safe(p.state)}/${safe(p.poc)}` : '(missing)');
const refused = (r) => `REFUSED: ${/^[A-Z][a-z]/.test(r.officer) ? r.officer[0].toLowerCase() + r.officer.slice(1) : r.officer}${r.detail ? ` (${r.detail})` : ''} [${r.code}]`;

function renderMessage(m) {
  const h = m.header;
  const out = [];
  if (m.ping) out.push(`Communication check ${m.id} from HUB/operator (signature VERIFIED with the hub's key, logged as entry ${m.logIndex})`);
  else {
    out.push(`Message ${m.id} — ${h.priority} ${h.kind}, ${h.tlp}`);
    out.push(`From: ${h.from.state}/${h.from.poc} (signature VERIFIED, logged as entry ${m.logIndex})`);
  }
  out.push(`To: ${h.recipients.map(party).join(' ')}`);
  out.push(`Created ${h.created} (signed by the sender)`);
  if (h.case) out.push(`Case ${h.case}`);
  if (h.in_reply_to) out.push(`In reply to ${h.in_reply_to}`);
  if (h.legal_basis) out.push(`Legal basis ${safe(h.legal_basis.instrument)} art. ${safe(h.legal_basis.article)}`);
  out.push('');
  if (m.body) for (const [k, v] of Object.entries(m.body.content)) out.push(`${k}: ${safe(typeof v === 'string' ? v : JSON.stringify(v))}`);
  else out.push('(the body is sealed for the recipients only)');
  out.push('', 'Acknowledgement, per recipient state (from verified receipts only):');
  for (const [st, a] of Object.entries(m.ackByState)) {
    if (a.acknowledged) {
      const by = m.receipts.filter((r) => r.verified && r.state === st).map((r) => `${r.poc} (receipt VERIFIED, log entry ${r.logIndex})`);
      out.push(`  ${st}: acknowledged ${a.time} by ${by.join(', ')}`);
    } else out.push(`  ${st}: NOT acknowledged`);
  }
  for (const r of m.receipts) if (!r.verified) out.push(`  receipt claimed for ${r.state}/${r.poc}: NOT VERIFIED, not counted: ${r.reason}`);
  const hub = m.hub;
  out.push('', "The hub's word (unsigned, not verified by this client):");
  out.push(`  received ${safe(hub.received)}, status ${safe(hub.status)}, acknowledge by ${safe(hub.ack_deadline)}${hub.overdue === true ? ' (OVERDUE)' : ''}, escalation level ${num(hub.escalation_level)}`);
  if (Array.isArray(hub.recipients)) for (const x of hub.recipients) out.push(`  ${party(x)}: delivered ${safe(x?.delivered)}, acknowledged ${safe(x?.acknowledged)}`);
  out.push('  History:');
  if (Array.isArray(hub.history)) for (const x of hub.history) out.push(`    ${safe(x?.time)}  ${safe(x?.event)} ${safe(x?.detail)}`);
  return out.join('\n');
}

function renderListing(list) {
  const out = ["Messages as the hub lists them (its unsigned word; 'read ID' verifies one):"];
  for (const it of list.items) {
    const h = it.hub;
    out.push(`${num(h.seq)} ${safe(h.id)} ${safe(h.kind)} ${safe(h.priority)} ${party(h.from)} ${safe(h.status)}`);
  }
  return out.join('\n');
}

function render(r) {
  switch (r.kind) {
    case 'read':
      return { exit: 0, out: renderMessage(r.msg) };
    case 'ack':
      return { exit: 0, out: `acknowledged ${r.id}; receipt logged as entry ${r.res.leafIndex} (verified)` };
    case 'sent':
      return { exit: 0, out: `sent ${r.priority} ${r.what} ${r.res.id} to ${r.res.to.map(party).join(' ')}\n  logged as entry ${r.res.leafIndex} (verified)` };
    case 'record': {
      const v = r.rec;
      const b = v.badge;
      const lines = [
        `${v.state} (${safe(v.name)}, ${safe(v.region)}: the hub's word) record version ${v.version}: signature VERIFIED with the pinned root key, log entry ${v.logIndex}, directory commitment VERIFIED`,
        `  root key fingerprint ${v.rootFingerprint}${b.firstContact ? ' (FIRST CONTACT: pinned on trust)' : b.rootConfirmed ? ' (confirmed out of band)' : ''}`,
      ];
      if (b.operatorReplacement) lines.push(`  WARNING: root key REPLACED BY THE HUB'S OPERATOR: "${safe(b.operatorReplacement.reason)}"${b.operatorReplacement.accepted ? ' (accepted)' : ''}`);
      for (const p of v.pocs) lines.push(`  ${p.id} ${safe(p.name)} ${p.roles.join(',')}`);
      return { exit: 0, out: lines.join('\n') };
    }
    case 'inbox':
      return { exit: 0, out: renderListing(r.list) };
    case 'outbox': {
      /* as `parley inbox --sent`: each message verified, acknowledgement per state from verified receipts */
      const lines = ["SEQ ID KIND PRIORITY TO ACKNOWLEDGED (verified) | HUB'S STATUS HUB'S ACK BY"];
      let bad = 0;
      r.list.items.forEach((it, i) => {
        const o = r.opened[i];
        const h = it.hub;
        if (o.refusal) {
          bad++;
          lines.push(`${num(h.seq)} ${safe(h.id)} ? ? ? NOT VERIFIED | ${safe(h.status)} ${safe(h.ack_deadline)}`);
          lines.push(`  ${safe(h.id)} did not verify: ${refused(o.refusal)}`);
          return;
        }
        const m = o.msg;
        const states = Object.keys(m.ackByState);
        const done = states.filter((st) => m.ackByState[st].acknowledged).length;
        const badRcpt = m.receipts.filter((x) => !x.verified).length;
        const to = states.length > 1 ? `${states[0]}+${states.length - 1}` : states[0];
        const acked = `${done === states.length ? 'yes' : done ? 'part' : 'no'} ${done}/${states.length} states${badRcpt ? ', BAD RECEIPT' : ''}`;
        lines.push(`${num(h.seq)} ${m.id} ${m.header.kind} ${m.header.priority} ${to} ${acked} | ${safe(h.status)} ${safe(h.ack_deadline)} ${h.overdue === true ? 'OVERDUE' : ''}`);
      });
      if (bad) lines.push(`${bad} message(s) did not verify`);
      return { exit: bad ? 1 : 0, out: lines.join('\n') };
    }
    case 'api':
      return { exit: r.res.status >= 200 && r.res.status < 300 ? 0 : 1, out: r.res.text };
    case 'refusal':
      return { exit: 1, out: refused(r.refusal) };
    case 'unsupported':
      return { exit: 2, out: 'not an action of the page' };
    default:
      return { exit: 3, out: `the page's client failed (a crash, not a refusal): ${r.error}` };
  }
}

let shots = 0;
const uiShown = new Set();
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', async () => {
    try {
      const { config, args } = JSON.parse(body);
      const user = basename(config, '.conf');
      const r = await inPage(user, readFileSync(join(WORK, `${user}.key`), 'utf8'), args);
      let out = render(r);
      /* In the app: every refusal, every answer that carried control characters, and
       * the first answer shown per officer and screen (each costs a full verification). */
      const firstShown = !uiShown.has(`${user} ${args[0]}`);
      if (r.kind === 'refusal' || ((r.kind === 'read' || r.kind === 'record') && (firstShown || /\\(x[0-9a-f]{2}|u00[0-9a-f]{2})/.test(out.out)))) {
        if (r.kind !== 'refusal') uiShown.add(`${user} ${args[0]}`);
        const bad = await inUi(user, args, r);
        if (bad) out = { exit: 4, out: `${out.out}\nTHE WEB APP DISAGREES: ${bad}` };
        else if (['read', 'directory'].includes(args[0])) out.out += `\n(the web app shows the same${r.kind === 'refusal' ? ' refusal' : ''})`;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    } catch (e) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ exit: 3, out: `controller error: ${e && e.stack ? e.stack : e}` }));
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  writeFileSync(join(WORK, 'ctrl-port'), String(server.address().port));
  console.log(`controller listening on ${server.address().port}`);
});
const stop = async () => {
  server.close();
  if (logs.length) console.log(logs.join('\n'));
  await context.close();
  await browser.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

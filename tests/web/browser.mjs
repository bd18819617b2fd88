// The web app in a real browser (Debian's chromium, headless, through playwright-core)
// against a real parleyd: the page loads under its CSP with no violation, opens key
// files made by `parley keygen`, signs a whoami the hub accepts (and one it refuses),
// creates a key and downloads it, and refuses to run a bundle whose bytes do not
// match index.html's Subresource Integrity. Screenshots go to OUT.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const need = (n) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set`);
  return v;
};
const require = createRequire(join(need('PARLEY_SRC'), 'web', 'package.json'));
const { chromium } = require('playwright-core');

const HUB = need('HUB');
const HUB_TAMPERED = need('HUB_TAMPERED');
const OUT = need('OUT');
let failed = 0;
let passed = 0;
const ok = (what) => {
  passed++;
  console.log(`ok - ${what}`);
};
const notOk = (what, detail) => {
  failed++;
  console.log(`not ok - ${what}${detail ? `\n    ${String(detail).replace(/\n/g, '\n    ')}` : ''}`);
};
const expect = (cond, what, detail) => (cond ? ok(what) : notOk(what, detail));

const profile = mkdtempSync(join(tmpdir(), 'parley-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: need('CHROMIUM'),
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1100, height: 760 },
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] ?? (await context.newPage());
const logs = [];
page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}${m.type() === 'error' && m.location()?.url ? ` (${m.location().url})` : ''}`));
page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
const violations = () => logs.filter((l) => /Content.Security.Policy|Refused to|integrity|Trusted Type/i.test(l));
const shot = (name) => page.screenshot({ path: join(OUT, name), fullPage: true });

try {
  const resp = await page.goto(`${HUB}/app/`);
  const csp = resp.headers()['content-security-policy'] ?? '';
  expect(resp.status() === 200, 'GET /app/ answers 200');
  expect(/script-src 'self'( 'wasm-unsafe-eval')?;/.test(csp) && !/unsafe-inline/.test(csp) && /frame-ancestors 'none'/.test(csp), 'the page is served under a CSP without inline script', csp);
  await page.waitForSelector('#key-file', { timeout: 20000 });
  ok('the app starts (libsodium loaded under the CSP)');
  await shot('01-open-key.png');

  /* a key the hub does not know: the page signs, the hub refuses */
  await page.setInputFiles('#key-file', need('STRANGER_KEY'));
  await page.click('#open-key');
  await page.waitForSelector('#key-id', { timeout: 20000 });
  await page.click('#whoami');
  await page.waitForSelector('#whoami-result');
  const refused = await page.textContent('#whoami-result');
  expect((await page.getAttribute('#whoami-result', 'data-status')) === '401' && /AUTH_UNKNOWN_KEY/.test(refused), 'a signed whoami by an unknown key is refused (401 AUTH_UNKNOWN_KEY)', refused);
  await page.click('#lock');
  await page.waitForSelector('#key-file');
  ok('locking wipes the key and returns to the open screen');

  /* the operator's key from `parley keygen`, passphrase-protected */
  await page.setInputFiles('#key-file', need('OP_KEY'));
  await page.fill('#passphrase', 'not the passphrase');
  await page.click('#open-key');
  await page.waitForSelector('#open-error', { timeout: 30000 });
  const wrong = await page.textContent('#open-error');
  expect(/Wrong passphrase/.test(wrong), 'a wrong passphrase is refused with a clear message', wrong);
  await page.fill('#passphrase', need('OP_PASS'));
  await page.click('#open-key');
  await page.waitForSelector('#key-id', { timeout: 30000 });
  const keyid = await page.textContent('#key-id');
  expect(keyid === need('OP_KEYID'), 'the parley keygen file opens in the page (same key id as parley key show)', `${keyid} vs ${need('OP_KEYID')}`);
  await page.click('#whoami');
  await page.waitForSelector('#whoami-result');
  const who = await page.textContent('#whoami-result');
  expect((await page.getAttribute('#whoami-result', 'data-status')) === '200' && /"role":"operator"/.test(who) && who.includes(keyid), "the page's signed GET /v1/whoami is accepted by parleyd", who);
  await shot('02-whoami.png');
  await page.click('#lock');

  /* a key made in the page, downloaded as files */
  await page.waitForSelector('#new-passphrase');
  await page.fill('#new-passphrase', need('PAGE_PASS'));
  await page.fill('#new-passphrase2', need('PAGE_PASS'));
  await page.click('#create-key');
  await page.waitForSelector('#created', { timeout: 30000 });
  const fpr = (await page.textContent('#created-fingerprint')).replace(/ /g, '');
  writeFileSync(join(OUT, 'page-fingerprint.txt'), fpr + '\n');
  for (const [button, file] of [
    ['#download-secret', 'page.key'],
    ['#download-public', 'page.key.pub'],
  ]) {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    await dl.saveAs(join(OUT, file));
  }
  ok('a key is created in the page and both files are downloaded');
  await shot('03-key-created.png');

  expect(violations().length === 0, 'no CSP, Trusted Types or integrity message in the console', violations().join('\n'));
  const errors = logs.filter((l) => /^(error|pageerror)/.test(l) && !/status of 401/.test(l) && !/status of 404.*\/app\/config\.json\)$/.test(l)); /* served by the hub, the app has no config.json */
  expect(errors.length === 0, 'no error in the console but the expected 401', errors.join('\n'));

  /* the policy is in force: no request to another origin, no inline script */
  const blocked = await page.evaluate(
    () =>
      new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
        fetch('http://127.0.0.2:9/exfiltrate').catch(() => {});
        setTimeout(() => resolve('no violation'), 3000);
      }),
  );
  expect(blocked === 'connect-src', 'a request to another origin is blocked (connect-src)', blocked);
  const inline = await page.evaluate(() => {
    try {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.appendChild(s);
      return window.__inline === 1 ? 'ran' : 'did not run';
    } catch (e) {
      return e.name;
    }
  });
  expect(inline !== 'ran', `an injected inline script does not run (${inline})`, inline);

  /* a bundle changed behind index.html's back does not run */
  logs.length = 0;
  await page.goto(`${HUB_TAMPERED}/app/`);
  await page.waitForTimeout(1500);
  expect((await page.$('#key-file')) === null && logs.some((l) => /integrity/i.test(l)), 'a tampered bundle is refused by Subresource Integrity', logs.join('\n'));
  await shot('04-tampered-refused.png');
} catch (e) {
  notOk('the browser run', e.stack ?? e);
  await shot('failure.png').catch(() => {});
  console.log(logs.join('\n'));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

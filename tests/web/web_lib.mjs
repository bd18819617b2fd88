// Shared helpers of the web app's browser tests: chromium (Debian's, through
// playwright-core) with the flags of issue 14, one fresh context per officer, TAP-like
// output, screenshots.
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const need = (n) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set`);
  return v;
};
export const require = createRequire(join(need('PARLEY_SRC'), 'web', 'package.json'));
const { chromium } = require('playwright-core');

let failed = 0;
let passed = 0;
export const ok = (what) => {
  passed++;
  console.log(`ok - ${what}`);
};
export const notOk = (what, detail) => {
  failed++;
  console.log(`not ok - ${what}${detail ? `\n    ${String(detail).replace(/\n/g, '\n    ')}` : ''}`);
};
export const expect = (cond, what, detail) => (cond ? ok(what) : notOk(what, detail));
export const summary = () => {
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
};

export async function launch() {
  /* launch() starts chromium with a fresh temporary --user-data-dir */
  return chromium.launch({
    executablePath: need('CHROMIUM'),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page in its own context (its own storage): one officer.
export async function officerPage(browser, name, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, timezoneId: 'America/New_York', locale: 'en-US' });
  const page = await context.newPage();
  page.logs = [];
  page.on('console', (m) => page.logs.push(`${name} ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => page.logs.push(`${name} pageerror: ${e.message}`));
  return page;
}

// Opens the app at APP (its /app/ URL), then KEY (no passphrase unless given), and
// waits for the inbox to be live.
export async function openKey(page, app, key, passphrase = '') {
  await page.goto(app);
  await page.waitForSelector('#key-file', { timeout: 20000 });
  await page.setInputFiles('#key-file', key);
  if (passphrase) await page.fill('#passphrase', passphrase);
  await page.click('#open-key');
  await page.waitForSelector('#inbox-title', { timeout: 30000 });
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 20000 });
}

export async function setLanguage(page, code) {
  await page.selectOption('#language', code);
  await page.waitForFunction((c) => document.documentElement.lang === c, code);
}

export const shot = (page, dir, name) => page.screenshot({ path: join(dir, name), fullPage: true });

export const pageErrors = (page) => page.logs.filter((l) => /pageerror|Content.Security.Policy|Refused to/i.test(l));

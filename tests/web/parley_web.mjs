// The app from `parley web` (the officer's machine) against a real parleyd on another
// origin: every API request and the live stream go cross-origin to the hub named in
// config.json, a message from `parley send` arrives live and opens verified, no banner.
// The same app from the hub's /app/: the banner on every screen. A hub listing with
// elements of the wrong type: skipped and counted, the page still shown.
import { execFileSync } from 'node:child_process';
import { expect, launch, need, notOk, ok, officerPage, openKey, pageErrors, shot, summary } from './web_lib.mjs';

const HUB = need('HUB');
const HUB_ORIGIN = new URL(HUB).origin;
const FIN_APP = need('FIN_APP');
const APP_ORIGIN = new URL(FIN_APP).origin;
const OUT = need('OUT');

const browser = await launch();
const b = await officerPage(browser, 'FIN');
const requests = [];
b.on('request', (r) => requests.push({ url: r.url(), method: r.method() }));
try {
  await openKey(b, FIN_APP, need('FIN_KEY'));
  ok("FIN's officer opens the key in the page served by parley web; the inbox is live");
  expect((await b.$('#hub-served-banner')) === null, 'no "served by the hub" banner on the page from parley web');
  const cli = need('CLI_ID');
  await b.waitForSelector(`#inbox-list [data-id="${cli}"]`, { timeout: 15000 });
  ok('the inbox lists the message sent before the page opened');

  /* a message sent with parley send now arrives through the live stream */
  const MARK = `LIVE-${Math.random().toString(16).slice(2, 10)}`;
  const out = execFileSync(need('PARLEY'), ['--config', need('EST_CONF'), 'send', '--kind', 'request-for-information', '--to', 'FIN:fin-cert', '--priority', 'urgent', '--tlp', 'AMBER', '--field', `subject=Live ${MARK}`, '--field', `details=Sent while the page is open: ${MARK}`], { encoding: 'utf8' });
  const live = /^sent [a-z]+ [a-z-]+ ([0-9a-f-]+) to/m.exec(out)?.[1];
  if (!live) throw new Error(`parley send printed no id: ${out}`);
  await b.waitForSelector(`#inbox-list [data-id="${live}"]`, { timeout: 20000 });
  ok('a message sent with parley send arrives live in the page (SSE)');
  await b.click(`#inbox-list [data-id="${live}"] a.msglink`);
  await b.waitForSelector('#message', { timeout: 20000 });
  const body = await b.textContent('#body-fields');
  expect(body.includes(`Sent while the page is open: ${MARK}`) && (await b.$('#refusal')) === null, 'it opens verified and decrypted in the page', body);
  await shot(b, OUT, 'message-from-parley-web.png');

  const api = requests.filter((r) => /\/(v1|log)\//.test(new URL(r.url).pathname));
  const own = api.filter((r) => new URL(r.url).origin !== HUB_ORIGIN);
  expect(api.length > 0 && own.length === 0, `every API request (${api.length}) goes cross-origin to the hub ${HUB_ORIGIN}, none to the page's origin ${APP_ORIGIN}`, own.map((r) => r.url).join('\n'));
  expect(
    requests.some((r) => r.url.startsWith(`${HUB_ORIGIN}/v1/inbox/stream`)),
    'the live stream too',
    requests.map((r) => r.url).slice(0, 40).join('\n'),
  );
  expect(requests.some((r) => r.url === `${APP_ORIGIN}/app/config.json` || r.url.endsWith('/config.json')), 'the page read config.json from its own origin');

  /* the outbox: acknowledgement per state from verified receipts, the hub's status apart */
  await b.goto(`${FIN_APP}#/outbox`);
  const acked = `#outbox-list [data-id="${need('ACKED_ID')}"]`;
  const unacked = `#outbox-list [data-id="${need('UNACKED_ID')}"]`;
  await b.waitForSelector(`${acked} .acksum:not([data-ack="pending"])`, { timeout: 30000 });
  await b.waitForSelector(`${unacked} .acksum:not([data-ack="pending"])`, { timeout: 30000 });
  const ackA = await b.getAttribute(`${acked} .acksum`, 'data-ack');
  const ackB = await b.getAttribute(`${unacked} .acksum`, 'data-ack');
  expect(ackA === 'all' && (await b.getAttribute(`${acked} .acksum`, 'data-acked')) === 'EST' && ackB === 'none', 'the outbox shows, without a click, the acknowledgement per state from verified receipts (EST: yes; the other: none)', `${ackA} ${ackB}`);
  const hubCol = await b.textContent(`${acked} .col-hub`);
  expect(/the hub's word/.test(hubCol) && /Acknowledged/.test(hubCol), "the hub's status in its own column, labelled as the hub's word", hubCol);
  await shot(b, OUT, 'outbox.png');

  /* EST's root key pinned, then replaced by the operator: refused, with the confirm form,
   * and the served fingerprint shown only after a mismatch */
  await b.goto(`${FIN_APP}#/state/EST`);
  await b.waitForSelector('#trust-badge', { timeout: 30000 });
  expect((await b.$('#root-fingerprint')) === null, 'the served fingerprint is not printed beside the confirm input', await b.textContent('#trust-badge'));
  execFileSync('bash', [need('REPLACE_ROOT')], { stdio: 'inherit' });
  await b.goto(`${FIN_APP}#/directory`);
  await b.goto(`${FIN_APP}#/state/EST`);
  await b.waitForSelector('#refusal', { timeout: 30000 });
  const refusal = await b.textContent('#refusal');
  const fpr2 = need('EST2_FPR');
  const disp2 = fpr2.replace(/(.{4})(?=.)/g, '$1 ');
  expect(/ROOT_KEY_CHANGED|ROOT_REPLACED/.test(refusal) && (await b.$('#confirm-fingerprint')) !== null && (await b.$('#confirm-needed')) !== null, 'a root key changed since it was pinned: refused, and the confirm-fingerprint form offered', refusal);
  expect(!refusal.includes(disp2) && !(await b.textContent('#main')).includes(disp2), 'the new fingerprint the hub serves is not shown before the officer types one', refusal);
  await b.fill('#confirm-fingerprint', '00'.repeat(32));
  await b.click('#confirm');
  await b.waitForSelector('#confirm-note', { timeout: 20000 });
  const note = await b.textContent('#confirm-note');
  expect(/FINGERPRINT|not the one you checked/.test(note) && note.includes(disp2), 'a wrong fingerprint: refused, and only now the served one is shown, to compare', note);
  await b.fill('#confirm-fingerprint', disp2);
  await b.click('#confirm');
  await b.waitForSelector('#badge-root[data-ok="true"]', { timeout: 30000 });
  ok('the fingerprint obtained out of band, typed: the new root key is trusted as confirmed');
  await shot(b, OUT, 'state-confirmed.png');

  /* a hub listing with elements that are not objects: skipped, counted, the rest shown */
  await b.route(`${HUB_ORIGIN}/v1/states`, (route) =>
    route.fulfill({
      status: 200,
      headers: { 'content-type': 'application/json', 'access-control-allow-origin': '*' },
      body: JSON.stringify({ states: [null, 'FIN', 7, { code: 'FIN', name: 'Finland', region: 'western-european-and-others', status: 'active' }] }),
    }),
  );
  await b.goto(`${FIN_APP}#/directory`);
  await b.waitForSelector('#dir-states, #refusal', { timeout: 20000 });
  const skipped = await b.getAttribute('.skipped', 'data-skipped').catch(() => null);
  const states = await b.textContent('#dir-states').catch(() => '');
  expect(skipped === '3' && states.includes('FIN'), 'a states listing with null, a string and a number: 3 skipped and said, the valid state shown', `skipped=${skipped} states=${states}`);
  await b.unroute(`${HUB_ORIGIN}/v1/states`);
  const errs = pageErrors(b);
  expect(errs.length === 0, 'no page error, no CSP violation', errs.join('\n'));

  /* the same app served by the hub: the banner, before and after the key is opened */
  const h = await officerPage(browser, 'FIN-from-hub');
  await h.goto(`${HUB}/app/`);
  await h.waitForSelector('#key-file', { timeout: 20000 });
  const banner = await h.textContent('#hub-served-banner').catch(() => '');
  expect(/served by the hub/.test(banner) && banner.includes('parley web'), 'from the hub\'s /app/: the banner says the operator could change the page', banner);
  await openKey(h, `${HUB}/app/`, need('FIN_KEY'));
  expect((await h.$('#hub-served-banner')) !== null, '... and stays on the inbox');
  await h.selectOption('#language', 'fr');
  await h.waitForFunction(() => document.documentElement.lang === 'fr');
  const fr = await h.textContent('#hub-served-banner');
  expect(/servie par le hub/.test(fr) && fr.includes('parley web'), '... translated (French)', fr);
  await shot(h, OUT, 'inbox-served-by-hub-fr.png');

  /* Lock: the page reloads (the key's copies in the WebAssembly heap go with it) */
  await h.evaluate(() => ((window).__beforeLock = 1));
  await h.click('#lock');
  await h.waitForSelector('#key-file', { timeout: 20000 });
  await h.waitForFunction(() => (window).__beforeLock === undefined, null, { timeout: 10000 });
  ok('Lock reloads the page: nothing of the open session is left in it');
} catch (e) {
  notOk('the scenario ran to its end', e?.stack ?? e);
  await shot(b, OUT, 'failure.png').catch(() => {});
} finally {
  await browser.close();
}
process.exit(summary());

// Two officers, two browsers (separate contexts), one real parleyd: the exchange of
// issue 14 end to end through the real UI, plus a message from `parley send` read in
// the page and a key made in the page (saved for test_officers.sh to use with parley).
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, launch, need, notOk, ok, officerPage, openKey, pageErrors, setLanguage, shot, summary } from './web_lib.mjs';

const HUB = need('HUB');
const FIN_APP = need('FIN_APP'); /* FIN's officer runs the app from their own machine (parley web) */
const OUT = need('OUT');
const ids = join(OUT, 'ids.txt');
writeFileSync(ids, '');
const MARK = `PAGE-${Math.random().toString(16).slice(2, 10)}`;
appendFileSync(ids, `page-mark ${MARK}\n`);

const browser = await launch();
const a = await officerPage(browser, 'EST');
const b = await officerPage(browser, 'FIN');
try {
  await openKey(a, `${HUB}/app/`, need('EST_KEY'));
  ok("EST's officer opens a parley keygen key; whoami, then the inbox, live");
  await openKey(b, FIN_APP, need('FIN_KEY'));
  expect(!FIN_APP.startsWith(HUB) && (await b.textContent('.bar .hub')) === new URL(HUB).host, `FIN's page, served by parley web (${FIN_APP}), talks to the hub named in its config.json`);
  await setLanguage(b, 'fr');
  expect((await b.textContent('#inbox-title')) === 'Boîte de réception', "FIN's officer reads the interface in French");

  /* the message sent with parley send, read in the page */
  const cli = need('CLI_ID');
  await b.waitForSelector(`#inbox-list [data-id="${cli}"]`, { timeout: 15000 });
  await b.click(`#inbox-list [data-id="${cli}"] a.msglink`);
  await b.waitForSelector('#message', { timeout: 20000 });
  const cliBody = await b.textContent('#body-fields');
  expect(cliBody.includes(`Sent with parley send: ${need('CLI_MARK')}`) && cliBody.includes('Objet'), 'a message sent with parley send is opened, verified and decrypted in the page (labels in French)', cliBody);
  await b.goto(`${FIN_APP}#/inbox`);
  await b.waitForSelector('#inbox-list');

  /* EST writes an urgent request for assistance to FIN */
  await a.goto(`${HUB}/app/#/compose`);
  await a.click('#kind-request-for-assistance');
  await a.waitForSelector('#field-subject');
  await a.click('#send');
  await a.waitForSelector('#compose-problems');
  const problems = await a.locator('.problem').count();
  expect(problems >= 2 && (await a.getAttribute('#field-subject', 'aria-invalid')) === 'true', `validation runs before sending: ${problems} fields marked, nothing sent`);
  await a.fill('#field-subject', `DDoS on the energy grid ${MARK}`);
  await a.fill('#field-details', `Traffic from AS64500 since 03:00 UTC. ${MARK}`);
  await a.fill('#field-respond_by', '2026-12-31');
  expect((await a.locator('#field-subject-problem').count()) === 0, "a field's problem goes away once it is valid");
  await a.check('#to-state-FIN');
  await a.waitForSelector('#to-FIN-fin-cert', { timeout: 20000 });
  await a.check('#to-FIN-fin-cert');
  await a.selectOption('#priority', 'urgent');
  await a.selectOption('#tlp', 'AMBER');
  await shot(a, OUT, 'compose-en.png');
  const t0 = Date.now();
  await a.click('#send');
  await a.waitForSelector('#message', { timeout: 30000 });
  const id = await a.getAttribute('#message', 'data-id');
  appendFileSync(ids, `page-sent ${id}\n`);
  ok(`EST sends it from the page (${id}) and sees it verified`);

  /* FIN sees it arrive live */
  await b.waitForSelector(`#inbox-list [data-id="${id}"]`, { timeout: 15000 });
  const live = Date.now() - t0;
  ok(`FIN's inbox shows it live, ${live} ms after sending`);
  const row = await b.textContent(`#inbox-list [data-id="${id}"]`);
  expect(/Urgente/.test(row) && /EST · est-cert/.test(row) && /Demande d'assistance/.test(row) && /TLP:AMBER/.test(row) && /accuser réception sous/.test(row), 'the row shows priority, sender, kind, TLP and the deadline countdown (in French)', row);
  await shot(b, OUT, 'inbox-live-fr.png');
  await b.click(`#inbox-list [data-id="${id}"] a.msglink`);
  await b.waitForSelector('#message', { timeout: 20000 });
  const body = await b.textContent('#body-fields');
  expect(body.includes('Objet') && body.includes(`DDoS on the energy grid ${MARK}`) && body.includes('Détails'), 'FIN reads it in French: labels from the template, free text as written', body);
  expect((await b.textContent('#msg-from')).includes('EST · est-cert') && (await b.textContent('#msg-priority')).includes('Urgente'), 'the verified header names the sender and the priority');
  expect((await b.textContent('#msg-tlp')) === 'TLP:AMBER', 'TLP chip');
  expect(/\d/.test(await b.textContent('#msg-log-index')), 'log inclusion shown');
  expect((await b.textContent('#hubword')).includes('non vérifiée'), "the hub's word sits in its own box, marked not verified");
  await shot(b, OUT, 'message-fr.png');
  await b.click('#acknowledge');
  await b.waitForSelector('#acknowledged', { timeout: 30000 });
  ok('FIN acknowledges (a signed receipt, included in the log)');
  await b.click('#reply');
  await b.waitForSelector('#reply-to', { timeout: 20000 });
  await b.waitForSelector('#field-summary');
  await b.fill('#field-summary', `Mitigation in place ${MARK}`);
  await b.selectOption('#field-status', 'complete');
  await b.click('#send');
  await b.waitForSelector('#message', { timeout: 30000 });
  const reply = await b.getAttribute('#message', 'data-id');
  appendFileSync(ids, `page-reply ${reply}\n`);
  expect(reply && reply !== id, `FIN replies (${reply})`);

  /* EST: the verified acknowledgement and the reply */
  await a.click('#refresh');
  await a.waitForSelector('#acks [data-state="FIN"][data-acknowledged="yes"]', { timeout: 20000 }).catch(() => {});
  const ackState = await a.getAttribute('#acks [data-state="FIN"]', 'data-acknowledged');
  const receipt = await a.locator('#receipts li[data-verified="yes"]').count();
  expect(ackState === 'yes' && receipt === 1, "EST sees FIN's acknowledgement, from a verified receipt", `${ackState} ${receipt}`);
  await shot(a, OUT, 'message-acknowledged-en.png');
  await a.goto(`${HUB}/app/#/inbox`);
  await a.waitForSelector(`#inbox-list [data-id="${reply}"]`, { timeout: 15000 });
  ok("the reply is in EST's inbox");
  await a.click(`#inbox-list [data-id="${reply}"] a.msglink`);
  await a.waitForSelector('#message', { timeout: 20000 });
  const rb = await a.textContent('#body-fields');
  expect(rb.includes(`Mitigation in place ${MARK}`) && (await a.textContent('#verified-header')).includes(id), 'EST reads the reply, verified, in reply to the request', rb);
  const caseLink = await a.$('#msg-case');
  if (caseLink) {
    await caseLink.click();
    await a.waitForSelector('#case-messages li', { timeout: 20000 });
    const n = await a.locator('#case-messages li').count();
    expect(n >= 2, `the case view lists the request and the reply (${n})`);
    await shot(a, OUT, 'case-en.png');
  } else notOk('the reply names its case');
  /* the outbox: acknowledgement per state on demand */
  await a.goto(`${HUB}/app/#/outbox`);
  await a.waitForSelector(`#outbox-list [data-id="${id}"] .ackcheck`, { timeout: 20000 });
  await a.click(`#outbox-list [data-id="${id}"] .ackcheck`);
  await a.waitForSelector('#outbox-ack [data-state="FIN"]', { timeout: 20000 });
  expect((await a.getAttribute('#outbox-ack [data-state="FIN"]', 'data-acknowledged')) === 'yes', 'the outbox shows the verified acknowledgement per state');
  await shot(a, OUT, 'outbox-en.png');

  /* the directory: search, a state's page with its trust badge, confirm the fingerprint, export */
  await a.goto(`${HUB}/app/#/directory`);
  await a.waitForSelector('#dir-states li');
  await a.selectOption('#dir-role', 'diplomatic');
  await a.click('#dir-search');
  await a.waitForSelector('#dir-results tbody tr');
  const found = await a.textContent('#dir-results tbody');
  expect(found.includes('Aino Virtanen') && !found.includes('Eero Laine'), 'directory search by role finds the diplomatic POC only', found);
  await a.fill('#dir-name', 'Eero');
  await a.selectOption('#dir-role', '');
  await a.click('#dir-search');
  await a.waitForFunction(() => document.querySelector('#dir-results tbody')?.textContent.includes('Eero Laine'));
  ok('directory search by name');
  const [csv] = await Promise.all([a.waitForEvent('download'), a.click('#export-csv')]);
  await csv.saveAs(join(OUT, 'directory.csv'));
  ok('the directory is exported (CSV)');
  await a.click('#dir-results a[href="#/state/FIN"]');
  await a.waitForSelector('#trust-badge');
  const badge = await a.textContent('#trust-badge');
  expect((await a.getAttribute('#badge-signature', 'data-ok')) === 'true' && (await a.getAttribute('#badge-log', 'data-ok')) === 'true' && (await a.getAttribute('#badge-root', 'data-ok')) === 'warn', "FIN's page: record signature and log inclusion verified, root key pinned but not confirmed out of band", badge);
  const clocks = await a.textContent('#pocs [data-poc="fin-cert"] .clocks');
  expect(clocks.includes('Europe/Helsinki') && clocks.includes('America/New_York'), "each POC's time where they are, beside the viewer's", clocks);
  expect((await a.textContent('#pocs [data-poc="fin-duty"] .availability')) === 'Mon-Fri 18:00-08:00', "each POC's availability");
  await a.fill('#confirm-fingerprint', '00'.repeat(32));
  await a.click('#confirm');
  await a.waitForSelector('#confirm-note');
  expect((await a.getAttribute('#badge-root', 'data-ok')) === 'warn', 'a wrong fingerprint is not accepted', await a.textContent('#confirm-note'));
  await a.fill('#confirm-fingerprint', need('FIN_FPR').replace(/(.{4})/g, '$1 '));
  await a.click('#confirm');
  await a.waitForSelector('#badge-root[data-ok="true"]', { timeout: 20000 });
  ok('"Confirm fingerprint" with the fingerprint given out of band: the badge says confirmed');
  await shot(a, OUT, 'state-en.png');

  /* something that does not verify is shown as a refusal, nothing of it as fact */
  await a.goto(`${HUB}/app/#/message/01a00000-0000-7000-8000-000000000000`);
  await a.waitForSelector('#refusal', { timeout: 20000 });
  expect((await a.getAttribute('#refusal', 'role')) === 'alert' && (await a.$('#verified-header')) === null, 'an unknown message is a refusal (role=alert), with no header shown', await a.textContent('#refusal'));

  /* a key made in the page, for parley */
  await a.click('#lock');
  await a.waitForSelector('#new-passphrase');
  await a.fill('#new-passphrase', need('PAGE_PASS'));
  await a.fill('#new-passphrase2', need('PAGE_PASS'));
  await a.click('#create-key');
  await a.waitForSelector('#created', { timeout: 30000 });
  for (const [button, file] of [
    ['#download-secret', 'page-officer.key'],
    ['#download-public', 'page-officer.key.pub'],
  ]) {
    const [dl] = await Promise.all([a.waitForEvent('download'), a.click(button)]);
    await dl.saveAs(join(OUT, file));
  }
  ok('a key is made in the page and downloaded');
  /* FIN's inbox and the request in every language; the hub's history lines said in
   * each (no English fragment of the hub's details left, none shown as English) */
  const histBad = [];
  let histLines = 0;
  for (const lang of ['ar', 'zh', 'en', 'fr', 'ru', 'es']) {
    await setLanguage(b, lang);
    await b.evaluate(() => (location.hash = '#/inbox'));
    await b.waitForSelector(`#inbox-list [data-id="${id}"]`, { timeout: 20000 });
    await shot(b, OUT, `lang-${lang}-inbox.png`);
    await b.evaluate((m) => (location.hash = `#/message/${m}`), id);
    await b.waitForSelector('#body-fields', { timeout: 20000 });
    await shot(b, OUT, `lang-${lang}-message.png`);
    const hist = await b.$$eval('ol.history li', (ls) => ls.map((l) => [l.textContent, l.querySelectorAll('[lang="en"]').length]));
    histLines += hist.length;
    if (lang !== 'en') for (const [text, en] of hist) if (en > 0 || /\b(by|to|from|due|lapsed|alerted|step|submitted|delivered|acknowledged)\b/i.test(text)) histBad.push(`${lang}: ${text}`);
  }
  ok('screenshots of the inbox and of a message in the six languages');
  expect(histLines >= 12 && histBad.length === 0, `the hub's history of the request (${histLines / 6} lines) is said in every language, with no English fragment`, histBad.join('\n'));
  const errs = [...pageErrors(a), ...pageErrors(b)];
  expect(errs.length === 0, 'no page error and no CSP violation', errs.join('\n'));
} catch (e) {
  notOk('the browser run', e.stack ?? e);
  await shot(a, OUT, 'failure-est.png').catch(() => {});
  await shot(b, OUT, 'failure-fin.png').catch(() => {});
  console.log([...a.logs, ...b.logs].join('\n'));
} finally {
  await browser.close();
}
process.exit(summary());

// Evidence packages in the page (docs/protocol.md §13) through the real UI: FIN's
// officer fetches and verifies a package sent with `parley evidence send` and saves its
// file; checks its custody chain; sees it in the case; is refused a package with a
// flipped stored chunk, the chunk named. EST's officer seals and uploads a file from the
// page, the upload broken after one chunk and resumed after a reload (its id written
// for test_evidence.sh to fetch with parley). EST replaced est-cert's key after sending
// its packages: those signed by the old key before verify; a manifest and a consent by
// the old key logged after its removal are refused.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, launch, need, notOk, ok, officerPage, openKey, pageErrors, setLanguage, shot, summary } from './web_lib.mjs';

const HUB = need('HUB');
const OUT = need('OUT');
const ID1 = need('ID1');
const ID2 = need('ID2');
const CASE = need('CASE');
const ids = join(OUT, 'ids.txt');
writeFileSync(ids, '');
const AXE = readFileSync(need('AXE'), 'utf8');
/* axe-core: serious or critical violations on the page as it is */
async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`);
  });
}
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const want1 = sha256(need('FILE1'));

const t0 = Date.now();
const browser = await launch();
const fin = await officerPage(browser, 'FIN');
const est = await officerPage(browser, 'EST');
try {
  await openKey(fin, `${HUB}/app/`, need('FIN_KEY'));
  await fin.click('#nav-evidence');
  await fin.waitForSelector(`#ev-list tr[data-id="${ID1}"]`, { timeout: 20000 });
  ok("FIN's evidence list (the hub's word) shows the package parley sent");

  /* the verified manifest */
  await fin.click(`#ev-list tr[data-id="${ID1}"] a`);
  await fin.waitForSelector('#evidence', { timeout: 20000 });
  const from = await fin.textContent('#ev-from');
  const listed = await fin.textContent('#ev-files tr[data-name="seized-disk.img"] .sha');
  expect(from.includes('EST · est-cert') && listed === want1, "the manifest verifies in the page after EST replaced its sender's key (log inclusion, then the key EST's verified record held when it was logged); the file's SHA-256 is the one sent", `${from} ${listed}`);

  /* download, chunk by chunk, with progress, streamed to the browser's downloads as
   * chunks verify (the service worker): the browser's download starts at once */
  await fin.focus('#ev-fetch');
  const dlStarted = fin.waitForEvent('download', { timeout: 20000 });
  await fin.keyboard.press('Enter');
  const dl = await dlStarted;
  await fin.waitForSelector('#ev-progress', { timeout: 10000 });
  await fin.waitForSelector('#ev-fetched', { timeout: 30000 });
  const prog = await fin.textContent('#ev-progress-text');
  const cdp = await fin.context().newCDPSession(fin);
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await fin.evaluate(() => (performance.memory ? Math.round(performance.memory.usedJSHeapSize / 1048576) : -1));
  console.log(`# download in the page: ${prog}; JS heap after it (garbage collected) ${heap} MiB`);
  expect(/100 %/.test(prog) && /MiB of .* MiB · .*\/s/.test(prog.replace(/[\u2066-\u2069]/g, '')), 'the download shows its progress: bytes, rate, time left', prog);
  const got = await fin.getAttribute('#ev-fetched li[data-name="seized-disk.img"]', 'data-sha256');
  expect(got === want1, 'every chunk matched the signed Merkle root, the file its SHA-256 (started by keyboard)', got);
  const saved = join(OUT, 'saved-seized-disk.img');
  await dl.saveAs(saved);
  const savedNote = await fin.textContent('#ev-fetched li[data-name="seized-disk.img"]');
  expect(
    sha256(saved) === want1 && dl.suggestedFilename() === 'seized-disk.img' && savedNote.includes('saved to your downloads') && (await fin.locator('#ev-fetched button.save').count()) === 0,
    "the file the browser's download wrote, streamed to disk as its chunks verified (no whole-file Blob), is the file parley sent (SHA-256 equal)",
    `${dl.suggestedFilename()} ${savedNote}`,
  );
  const swReg = await fin.evaluate(async () => {
    const r = await navigator.serviceWorker.getRegistration('dl/');
    return r && r.active ? `${new URL(r.active.scriptURL).pathname} ${new URL(r.scope).pathname} ${navigator.serviceWorker.controller === null}` : 'none';
  });
  expect(swReg === '/app/sw.js /app/dl/ true', "  through the page's service worker (/app/sw.js, scoped to /app/dl/: the page's own requests never pass through it), under the strict CSP", swReg);
  await shot(fin, OUT, 'evidence-fetched-en.png');

  /* custody */
  await fin.click('#ev-custody-check');
  await fin.waitForSelector('#ev-custody', { timeout: 30000 });
  const events = await fin.$$eval('#ev-custody tbody tr', (rows) => rows.map((r) => `${r.getAttribute('data-event')}:${r.getAttribute('data-verified')}`));
  expect(
    (await fin.getAttribute('#ev-custody', 'data-failed')) === '0' && events.join(' ') === 'sealed:yes uploaded:yes available:yes downloaded:yes verified:yes',
    `the custody chain verifies in the page, event by event: ${events.join(' ')}`,
    events.join(' '),
  );
  const notes = await fin.textContent('#evidence');
  expect(notes.includes("Not verified: the hub's status"), 'the page says what it did not verify');
  await shot(fin, OUT, 'evidence-custody-en.png');
  const v1 = await axe(fin);
  expect(v1.length === 0, 'axe: the package view with its download and custody has no serious violation', v1.join('\n'));

  /* the case */
  await fin.goto(`${HUB}/app/#/case/${CASE}`);
  await fin.waitForSelector(`#case-ev-list li[data-id="${ID1}"]`, { timeout: 30000 });
  ok('the case view lists the package whose verified manifest names the case');

  /* a flipped stored chunk */
  await fin.goto(`${HUB}/app/#/evidence/${ID2}`);
  await fin.waitForSelector('#ev-fetch', { timeout: 20000 });
  const badStarted = fin.waitForEvent('download', { timeout: 20000 });
  await fin.click('#ev-fetch');
  const bad = await badStarted;
  await fin.waitForSelector('#refusal', { timeout: 30000 });
  const code = await fin.getAttribute('#refusal', 'data-code');
  const chunk = await fin.getAttribute('#refusal', 'data-chunk');
  const text = await fin.textContent('#refusal');
  expect(code === 'EVIDENCE_CHUNK_HASH' && chunk === '1' && text.includes('Chunk 1 (bytes 1048593–2097185)') && text.includes('Merkle root'), 'a flipped byte in stored chunk 1 is refused in the page, naming the chunk', `${code} ${chunk} ${text}`);
  expect((await fin.locator('#ev-fetched').count()) === 0, '  and nothing of the package is offered for saving');
  const failure = await bad.failure();
  expect(failure !== null, `  the browser's download of it, started with chunk 0, is aborted, never completed (${failure})`);
  await setLanguage(fin, 'fr');
  const fr = await fin.textContent('#refusal');
  expect(fr.includes('Le bloc 1') && fr.includes('racine de Merkle'), '  the refusal is said in the officer\'s language (French)', fr);
  await shot(fin, OUT, 'evidence-refused-fr.png');
  /* a manifest edited in the hub's store after the sender signed it */
  await fin.goto(`${HUB}/app/#/evidence/${need('ID3')}`);
  await fin.waitForSelector('#refusal', { timeout: 20000 });
  const sig = await fin.textContent('#refusal');
  expect((await fin.getAttribute('#refusal', 'data-code')) === 'NOT_IN_LOG' && sig.includes('n’est pas prouvé dans le journal de transparence du hub') && (await fin.locator('#ev-fetch').count()) === 0, 'a manifest edited after signing is refused before anything is fetched (not what the hub logged, said in French)', sig);
  await setLanguage(fin, 'ar');
  await fin.goto(`${HUB}/app/#/evidence`);
  await fin.waitForSelector(`#ev-list tr[data-id="${ID1}"]`, { timeout: 20000 });
  const v2 = await axe(fin);
  expect((await fin.evaluate(() => document.documentElement.dir)) === 'rtl' && (await fin.textContent('#ev-title')) === 'حزم الأدلة' && v2.length === 0, 'the evidence list in Arabic, right to left; axe finds no serious violation', v2.join('\n'));
  const arRow = await fin.$eval(`#ev-list tr[data-id="${ID1}"]`, (tr) => {
    const size = tr.querySelector('bdi[dir="ltr"]');
    const box = size ? size.getBoundingClientRect() : null;
    const num = size ? document.createRange() : null;
    let order = 'none';
    if (size && num && size.firstChild) {
      /* where the number and the unit sit: left to right even in an Arabic line */
      const text = size.firstChild;
      num.setStart(text, 0);
      num.setEnd(text, 1);
      const first = num.getBoundingClientRect().left;
      num.setStart(text, text.textContent.length - 1);
      num.setEnd(text, text.textContent.length);
      order = first < num.getBoundingClientRect().left ? 'ltr' : 'rtl';
    }
    const status = tr.querySelector('td[data-status]');
    return { size: size ? size.textContent : '', order, w: box ? box.width : 0, status: status ? `${status.getAttribute('data-status')}=${status.textContent}` : '' };
  });
  expect(/^[0-9.]+ MiB$/.test(arRow.size) && arRow.order === 'ltr' && arRow.status === 'available=متاحة', `in Arabic the size reads "${arRow.size}" left to right (not "MiB 3.3") and the hub's status is translated (${arRow.status})`, JSON.stringify(arRow));
  await shot(fin, OUT, 'evidence-list-ar.png');
  await setLanguage(fin, 'en');
  /* a manifest sealed with est-cert's old key and logged after EST's record removed it */
  await fin.goto(`${HUB}/app/#/evidence/${need('ID6')}`);
  await fin.waitForSelector('#refusal, #ev-fetch', { timeout: 20000 });
  const refused = (await fin.locator('#refusal').count()) === 1;
  const late = refused ? await fin.textContent('#refusal') : 'accepted: the package is offered for fetching';
  const lateCode = refused ? await fin.getAttribute('#refusal', 'data-code') : null;
  const lateRe = new RegExp(`signed with key ${need('OLD_KID')} of EST/est-cert, which was removed from EST's record \\(log entry (\\d+)\\) before the manifest was logged \\(entry (\\d+)\\)`);
  const lm = late.match(lateRe);
  expect(
    lateCode === 'EVIDENCE_SIGNATURE' && lm !== null && Number(lm[1]) < Number(lm[2]) && (await fin.locator('#ev-fetch').count()) === 0,
    "a manifest signed with the sender's removed key, logged after its removal, is refused, naming the key and both log entries",
    late,
  );

  /* EST seals and uploads a file from the page, in the case */
  await openKey(est, `${HUB}/app/`, need('EST_KEY'));
  await est.goto(`${HUB}/app/#/evidence-send?case=${CASE}`);
  await est.waitForSelector('#ev-files', { timeout: 20000 });
  await est.setInputFiles('#ev-files', need('UPLOAD'));
  await est.check('#to-state-FIN');
  await est.waitForSelector('#to-FIN-fin-cert', { timeout: 20000 });
  await est.check('#to-FIN-fin-cert');
  await est.fill('#ev-notes', 'Captured at the border router, 2026-12-01');
  expect((await est.inputValue('#ev-case-field')) === CASE, 'the case is filled in from the case view link');
  const v3 = await axe(est);
  expect(v3.length === 0, 'axe: the send screen has no serious violation', v3.join('\n'));
  /* the upload breaks after its first chunk (every later PATCH dropped), and the page is
   * reloaded: the officer opens the key again and resumes with the same file */
  let patches = 0;
  let dropped = false;
  await est.route('**/v1/evidence/*/upload', (route) => {
    if (route.request().method() !== 'PATCH') return route.continue();
    if (++patches === 1) return route.continue();
    dropped = true;
    return route.abort();
  });
  await est.click('#ev-send');
  for (let i = 0; i < 400 && !dropped; i++) await new Promise((r) => setTimeout(r, 50));
  expect(dropped && patches >= 2, `EST's upload starts from the page (sealed, created, chunk 0 sent) and then its connection breaks`);
  await est.unroute('**/v1/evidence/*/upload');
  await est.reload();
  await openKey(est, `${HUB}/app/`, need('EST_KEY'));
  await est.goto(`${HUB}/app/#/evidence`);
  await est.waitForSelector('#ev-pending .pending[data-id]', { timeout: 20000 });
  const pageId = await est.getAttribute('#ev-pending .pending[data-id]', 'data-id');
  appendFileSync(ids, `page-sent ${pageId}\n`);
  await est.setInputFiles(`#ev-resume-files-${pageId}`, need('UPLOAD'));
  let resent = 0;
  est.on('request', (r) => {
    if (r.method() === 'PATCH') resent++;
  });
  await est.click('#ev-pending .ev-resume');
  await est.waitForSelector('#ev-pending .verified', { timeout: 40000 });
  const up = await est.textContent('#ev-pending #ev-progress-text');
  console.log(`# resumed upload from the page: ${up}`);
  expect((await est.getAttribute('#ev-pending #ev-progress', 'data-phase')) === 'upload' && /100 %/.test(up) && /\/s/.test(up), `after the reload the upload resumes where the hub stopped and completes (${pageId}), with progress`, up);
  const rest = Math.max(1, Math.ceil(readFileSync(need('UPLOAD')).length / 1048576)) - 1;
  expect(resent === rest, `  only the ${rest} chunks the hub did not hold are sent again (${resent} PATCH)`);
  await shot(est, OUT, 'evidence-sent-en.png');
  await est.click('#ev-pending .verified a');
  await est.waitForSelector('#evidence', { timeout: 20000 });
  expect((await est.locator('#ev-not-recipient').count()) === 1 && (await est.locator('#ev-fetch').count()) === 0, 'the sender, not a recipient, is told so and offered no download');

  /* an officer of FIN the package is not addressed to */
  const duty = await officerPage(browser, 'FIN-duty');
  await openKey(duty, `${HUB}/app/`, need('DUTY_KEY'));
  await duty.goto(`${HUB}/app/#/evidence/${ID1}`);
  await duty.waitForSelector('#refusal', { timeout: 20000 });
  const nr = await duty.textContent('#refusal');
  expect((await duty.getAttribute('#refusal', 'data-code')) === 'EVIDENCE_UNKNOWN' && nr.includes('knows no package of that id sent by you or to you'), 'fin-duty, not a recipient, gets nothing of the package (the hub answers as for an unknown id)', nr);

  /* a package shared onward with fin-duty: the shared event counts with EST's signed consent */
  await duty.goto(`${HUB}/app/#/evidence/${need('ID4')}`);
  await duty.waitForSelector('#ev-custody-check', { timeout: 20000 });
  await duty.click('#ev-custody-check');
  await duty.waitForSelector('#ev-custody', { timeout: 30000 });
  const shared = await duty.$$eval('#ev-custody tbody tr', (rows) => rows.map((r) => `${r.getAttribute('data-event')}:${r.getAttribute('data-verified')}`));
  const sharedText = await duty.textContent('#ev-custody');
  expect(
    (await duty.getAttribute('#ev-custody', 'data-failed')) === '0' && shared.join(' ') === 'sealed:yes uploaded:yes available:yes shared:yes' && sharedText.includes("EST/est-cert's signed consent"),
    "a package shared onward: the shared event verifies in the page with the sender's signed consent",
    `${shared.join(' ')} | ${sharedText}`,
  );
  /* ID5's consent, signed by est-cert's old key before the rotation, logged (in the
   * shared event) after it */
  await duty.goto(`${HUB}/app/#/evidence/${need('ID5')}`);
  await duty.waitForSelector('#ev-custody-check', { timeout: 20000 });
  await duty.click('#ev-custody-check');
  await duty.waitForSelector('#ev-custody', { timeout: 30000 });
  const lateShare = await duty.$$eval('#ev-custody tbody tr', (rows) => rows.map((r) => `${r.getAttribute('data-event')}:${r.getAttribute('data-verified')}`));
  const lateText = await duty.textContent('#ev-custody tr[data-event="shared"]');
  expect(
    (await duty.getAttribute('#ev-custody', 'data-failed')) === '1' &&
      lateShare.join(' ') === 'sealed:yes uploaded:yes available:yes shared:no' &&
      new RegExp(`consent: key ${need('OLD_KID')} of EST/est-cert was removed from EST's record \\(log entry \\d+\\) before this was logged \\(entry \\d+\\)`).test(lateText),
    "a consent by the sender's key removed before the share was logged does not verify, the key and both log entries named",
    `${lateShare.join(' ')} | ${lateText}`,
  );
  const errs = [...pageErrors(fin), ...pageErrors(est), ...pageErrors(duty)];
  expect(errs.length === 0, 'no page errors, no CSP refusals', errs.join('\n'));
} catch (e) {
  notOk(`the evidence run broke: ${e.message.split('\n')[0]}`, [...fin.logs, ...est.logs].slice(-20).join('\n'));
  await shot(fin, OUT, 'broken-fin.png').catch(() => {});
  await shot(est, OUT, 'broken-est.png').catch(() => {});
} finally {
  await browser.close();
}
console.log(`browser part: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(summary());

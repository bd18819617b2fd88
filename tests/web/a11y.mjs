// Access checks in chromium: axe-core on every screen in en and ar, right-to-left
// layout, keyboard alone, 200 % zoom and tablet width; screenshots of every screen.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, launch, need, notOk, ok, officerPage, openKey, pageErrors, setLanguage, shot, summary } from './web_lib.mjs';

const HUB = need('HUB');
const OUT = need('OUT');
const MSG = need('MSG_ID');
const REPLY = need('REPLY_ID');
const AXE = readFileSync(need('AXE'), 'utf8');

// each screen: its hash and a selector that says it has loaded
const screens = (caseId) => [
  ['inbox', '#/inbox', '#inbox-list .vrow'],
  ['outbox', '#/outbox', '#outbox-list .vrow'],
  ['message', `#/message/${MSG}`, '#body-fields'],
  ['compose', '#/compose', '#to-state-EST'],
  ['reply', `#/compose?reply=${MSG}`, '#reply-to'],
  ['case', `#/case/${caseId}`, '#case-messages li'],
  ['directory', '#/directory', '#dir-states li'],
  ['state', '#/state/EST', '#pocs li'],
  ['key', '#/key', '#key-id'],
];

async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`);
  });
}

async function show(page, hash, ready) {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForSelector(ready, { timeout: 20000 });
  await page.waitForTimeout(50);
}

const noHorizontalScroll = (page) => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1);

const T0 = Date.now();
const lap = (what) => console.log(`# ${what}: ${((Date.now() - T0) / 1000).toFixed(1)} s`);
const browser = await launch();
const p = await officerPage(browser, 'FIN');
try {
  await p.goto(`${HUB}/app/`);
  await p.waitForSelector('#key-file');
  const lockedViolations = await axe(p);
  expect(lockedViolations.length === 0, 'axe: the key screen (en) has no serious or critical violation', lockedViolations.join('\n'));
  await shot(p, OUT, 'en-open-key.png');
  /* axe can fail: an unlabelled field added to the page is reported */
  const probe = await p.evaluate(() => {
    const i = document.createElement('input');
    i.id = 'axe-probe';
    document.body.appendChild(i);
    return true;
  });
  const probed = await axe(p);
  await p.evaluate(() => document.getElementById('axe-probe').remove());
  expect(probe && probed.some((v) => v.startsWith('label ')), 'axe reports an unlabelled field added on purpose (the check can fail)', probed.join('\n'));
  await openKey(p, `${HUB}/app/`, need('FIN_KEY'));

  /* the case id, from the verified reply */
  await show(p, `#/message/${REPLY}`, '#msg-case');
  const caseId = (await p.textContent('#msg-case')).trim();
  expect(/^[0-9a-f-]{8,}/.test(caseId), `the reply carries its case (${caseId})`);

  for (const lang of ['en', 'ar']) {
    await setLanguage(p, lang);
    for (const [name, hash, ready] of screens(caseId)) {
      await show(p, hash, ready);
      const v = await axe(p);
      expect(v.length === 0, `axe (${lang}): ${name} has no serious or critical violation`, v.join('\n'));
      await shot(p, OUT, `${lang}-${name}.png`);
    }
  }

  lap('axe on every screen in en and ar');
  /* Arabic: right to left */
  await setLanguage(p, 'ar');
  await show(p, '#/inbox', '#inbox-list .vrow');
  const rtl = await p.evaluate(() => {
    const nav = document.getElementById('nav').getBoundingClientRect();
    const brand = document.querySelector('.brand').getBoundingClientRect();
    return { dir: document.documentElement.dir, main: getComputedStyle(document.getElementById('main')).direction, navCenter: nav.left + nav.width / 2, brandLeft: brand.left, width: innerWidth };
  });
  expect(rtl.dir === 'rtl' && rtl.main === 'rtl', `Arabic: <html dir=rtl> and computed direction rtl (${rtl.dir}, ${rtl.main})`);
  expect(rtl.navCenter > rtl.width / 2 && rtl.brandLeft > rtl.width / 2, `Arabic: the navigation sits on the right (centre at ${Math.round(rtl.navCenter)} of ${rtl.width} px)`);
  await setLanguage(p, 'en');
  const ltr = await p.evaluate(() => {
    const nav = document.getElementById('nav').getBoundingClientRect();
    return { dir: getComputedStyle(document.getElementById('main')).direction, navCenter: nav.left + nav.width / 2, width: innerWidth };
  });
  expect(ltr.dir === 'ltr' && ltr.navCenter < ltr.width / 2, `English: left to right, the navigation on the left (centre at ${Math.round(ltr.navCenter)} px)`);
  await p.reload();
  await p.waitForSelector('#key-file');
  expect((await p.evaluate(() => document.documentElement.lang)) === 'en', 'the chosen language is remembered across a reload');
  await setLanguage(p, 'ar');
  await p.reload();
  await p.waitForSelector('#key-file');
  const kept = await p.evaluate(() => [document.documentElement.lang, document.documentElement.dir].join(' '));
  expect(kept === 'ar rtl', `Arabic is remembered too (${kept})`);
  const lockedAr = await axe(p);
  expect(lockedAr.length === 0, 'axe (ar): the key screen has no serious or critical violation', lockedAr.join('\n'));
  await shot(p, OUT, 'ar-open-key.png');
  await setLanguage(p, 'en');
  await openKey(p, `${HUB}/app/`, need('FIN_KEY'));

  lap('right to left');
  /* keyboard alone: skip link, visible focus, compose and send with Tab/Enter/Space */
  await show(p, '#/inbox', '#inbox-list .vrow');
  /* start sequential navigation at the top of the document, as after loading it */
  const fromTop = () =>
    p.evaluate(() => {
      document.body.tabIndex = -1;
      document.body.focus();
      document.body.removeAttribute('tabindex');
    });
  await fromTop();
  await p.keyboard.press('Tab');
  expect(await p.evaluate(() => document.activeElement.classList.contains('skip')), 'the first Tab reaches the skip link');
  await p.keyboard.press('Enter');
  expect(await p.evaluate(() => document.activeElement.id === 'main'), 'the skip link moves focus to the content');
  const active = () => p.evaluate(() => document.activeElement?.id || document.activeElement?.className || document.activeElement?.tagName);
  const tabTo = async (sel, max = 120) => {
    for (let i = 0; i < max; i++) {
      if (await p.evaluate((s) => document.activeElement?.matches(s), sel)) return true;
      await p.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${sel} (at ${await active()})`);
  };
  await tabTo('#nav-compose');
  const outline = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  expect(outline !== 'none', `focus is visible (outline ${outline})`);
  await p.keyboard.press('Enter');
  await p.waitForSelector('#kind-request-for-information');
  await tabTo('#kind-request-for-information');
  await p.keyboard.press('Enter');
  await p.waitForSelector('#field-subject');
  await tabTo('#field-subject');
  await p.keyboard.type('Sent by keyboard alone');
  await tabTo('#field-details');
  await p.keyboard.type('Tab, Enter and Space only.');
  await tabTo('#to-state-EST');
  await p.keyboard.press('Space');
  await p.waitForSelector('#to-EST-est-cert', { timeout: 20000 });
  await tabTo('#to-EST-est-cert');
  await p.keyboard.press('Space');
  await tabTo('#send');
  await p.keyboard.press('Enter');
  await p.waitForSelector('#message', { timeout: 30000 });
  const kid = await p.getAttribute('#message', 'data-id');
  writeFileSync(`${OUT}/ids.txt`, `keyboard-sent ${kid}\n`);
  ok(`a message is composed and sent by keyboard alone (${kid})`);

  /* no keyboard trap: Tab goes through the whole page and comes back to the top */
  await show(p, '#/compose', '#to-state-EST');
  await fromTop();
  const seen = new Set();
  let wrapped = false;
  for (let i = 0; i < 250 && !wrapped; i++) {
    await p.keyboard.press('Tab');
    const id = await active();
    if (seen.has('send') && (id === 'skip' || id === 'BODY' || id === 'HTML')) wrapped = true;
    seen.add(id);
  }
  expect(wrapped, `no keyboard trap: Tab goes past Send and back to the top (${seen.size} stops)`);

  lap('keyboard');
  /* 200 % zoom (1280 px at 200 % = 640 css px) and a tablet */
  for (const [w, h, what] of [
    [640, 900, '200 % zoom (640 css px)'],
    [768, 1024, 'tablet (768 px)'],
  ]) {
    await p.setViewportSize({ width: w, height: h });
    const bad = [];
    for (const [name, hash, ready] of screens(caseId).filter(([n]) => w === 640 || ['inbox', 'message', 'compose', 'state'].includes(n))) {
      await show(p, hash, ready);
      if (!(await noHorizontalScroll(p))) bad.push(name);
      if (w === 640) await shot(p, OUT, `zoom200-${name}.png`);
    }
    expect(bad.length === 0, `${what}: no horizontal scroll on any screen`, bad.join(', '));
  }
  lap('zoom and tablet');
  const errs = pageErrors(p);
  expect(errs.length === 0, 'no page error and no CSP violation', errs.join('\n'));
} catch (e) {
  notOk('the browser run', e.stack ?? e);
  await shot(p, OUT, 'failure.png').catch(() => {});
  console.log(p.logs.join('\n'));
} finally {
  await browser.close();
}
process.exit(summary());

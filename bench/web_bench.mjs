// The web app's figures for make bench (bench/web_bench.sh): the first load over
// loopback (bytes transferred, time until the key screen and until the inbox is live)
// and opening + verifying one message in the page, N times. Prints one JSON line.
import { launch, officerPage, need } from '../tests/web/web_lib.mjs';

const APP = need('APP_URL');
const KEY = need('KEY_FILE');
const MSG = need('MESSAGE_ID');
const N = Number(process.env.BENCH_WEB_OPENS || 10);

const browser = await launch();
try {
  const page = await officerPage(browser, 'bench');
  const t0 = Date.now();
  await page.goto(APP);
  await page.waitForSelector('#key-file', { timeout: 30000 });
  const keyScreenMs = Date.now() - t0;
  const bytes = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    let b = nav ? nav.transferSize : 0;
    for (const r of performance.getEntriesByType('resource')) b += r.transferSize;
    return b;
  });
  const t1 = Date.now();
  await page.setInputFiles('#key-file', KEY);
  await page.click('#open-key');
  await page.waitForSelector('#inbox-title', { timeout: 30000 });
  await page.waitForSelector(`#inbox-list [data-id="${MSG}"]`, { timeout: 30000 });
  const inboxMs = Date.now() - t1;
  const opens = [];
  for (let i = 0; i < N; i++) {
    await page.evaluate(() => (location.hash = '#/inbox'));
    await page.waitForSelector('#inbox-title');
    const s = Date.now();
    await page.evaluate((id) => (location.hash = `#/message/${id}`), MSG);
    await page.waitForSelector('#verified-header', { timeout: 30000 });
    opens.push(Date.now() - s);
  }
  opens.sort((a, b) => a - b);
  console.log(JSON.stringify({ bytes, keyScreenMs, inboxMs, totalMs: keyScreenMs + inboxMs, opensMs: opens }));
} finally {
  await browser.close();
}

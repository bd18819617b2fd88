// The page's evidence transfer rates for make bench (bench/web_bench.sh): EST's officer
// seals and uploads FILE from the page (click to the hub holding every chunk, the
// manifest proven in the log), then FIN's officer downloads and verifies it in the page
// (click to every chunk and the file's SHA-256 matched, custody recorded). Prints one
// JSON line: bytes and milliseconds of each.
import { statSync } from 'node:fs';
import { launch, officerPage, openKey, need } from '../tests/web/web_lib.mjs';

const HUB = need('HUB');
const FILE = need('FILE');
const bytes = statSync(FILE).size;
const browser = await launch();
try {
  const est = await officerPage(browser, 'EST');
  await openKey(est, `${HUB}/app/`, need('EST_KEY'));
  await est.goto(`${HUB}/app/#/evidence-send`);
  await est.waitForSelector('#ev-files', { timeout: 20000 });
  await est.setInputFiles('#ev-files', FILE);
  await est.check('#to-state-FIN');
  await est.waitForSelector('#to-FIN-fin-cert', { timeout: 20000 });
  await est.check('#to-FIN-fin-cert');
  const s = Date.now();
  await est.click('#ev-send');
  await est.waitForSelector('#ev-sent', { timeout: 600000 });
  const uploadMs = Date.now() - s;
  const id = await est.getAttribute('#ev-sent', 'data-id');
  const fin = await officerPage(browser, 'FIN');
  await openKey(fin, `${HUB}/app/`, need('FIN_KEY'));
  await fin.goto(`${HUB}/app/#/evidence/${id}`);
  await fin.waitForSelector('#ev-fetch', { timeout: 20000 });
  const d = Date.now();
  await fin.click('#ev-fetch');
  await fin.waitForSelector('#ev-fetched', { timeout: 600000 });
  const downloadMs = Date.now() - d;
  console.log(JSON.stringify({ bytes, id, uploadMs, downloadMs }));
} finally {
  await browser.close();
}

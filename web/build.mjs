// Builds the web app into --out DIR (default web/dist): content-hashed JS and CSS,
// index.html referencing them with Subresource Integrity, and SHA256SUMS, the list a
// release publishes so anyone can check that the served bundle is the published one.
// The output depends only on the sources and the locked packages (reproducible).
// With --tests DIR, also bundles test/*.test.ts for node's test runner.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? resolve(args[i + 1]) : null;
};
const out = opt('--out') ?? join(here, 'dist');

// templates/*.json compiled in (as libparley compiles them): `import files from
// 'parley-templates'` gives [{name, json}] in file-name order, so a kind added later
// appears without code changes.
const templatesDir = join(here, '..', 'templates');
const templatesPlugin = {
  name: 'parley-templates',
  setup(b) {
    b.onResolve({ filter: /^parley-templates$/ }, () => ({ path: 'parley-templates', namespace: 'parley-templates' }));
    b.onLoad({ filter: /.*/, namespace: 'parley-templates' }, () => {
      const files = readdirSync(templatesDir)
        .filter((n) => n.endsWith('.json'))
        .sort()
        .map((n) => ({ name: n.slice(0, -5), json: readFileSync(join(templatesDir, n), 'utf8') }));
      return { contents: `export default ${JSON.stringify(files)};`, loader: 'js', watchFiles: files.map((f) => join(templatesDir, f.name + '.json')) };
    });
  },
};
const testsOut = opt('--tests');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  absWorkingDir: here,
  entryPoints: ['src/main.tsx'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  charset: 'utf8',
  legalComments: 'eof',
  entryNames: 'app-[hash]',
  assetNames: 'asset-[hash]',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
  // libsodium's loader reaches for node's crypto only when it runs under node
  external: ['crypto'],
  plugins: [templatesPlugin],
});

const files = Object.keys(result.metafile.outputs).map((f) => resolve(here, f));
const sri = (f) => 'sha384-' + createHash('sha384').update(readFileSync(f)).digest('base64');
const js = files.filter((f) => f.endsWith('.js'));
const css = files.filter((f) => f.endsWith('.css'));
if (js.length !== 1) throw new Error(`expected one script, got ${js.join(', ')}`);
const tags = (list, make) => list.map((f) => make(basename(f), sri(f))).join('\n');
const html = readFileSync(join(here, 'index.html'), 'utf8')
  .replace('<!--STYLES-->', tags(css, (n, h) => `<link rel="stylesheet" href="${n}" integrity="${h}">`))
  .replace('<!--SCRIPTS-->', tags(js, (n, h) => `<script type="module" src="${n}" integrity="${h}"></script>`));
writeFileSync(join(out, 'index.html'), html);

// The service worker that streams verified downloads to disk (src/sw.ts): a fixed name,
// since a worker's URL is its identity; served no-store, so a release replaces it.
await build({
  absWorkingDir: here,
  entryPoints: ['src/sw.ts'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  charset: 'utf8',
  outfile: join(out, 'sw.js'),
  logLevel: 'warning',
});

const sums = readdirSync(out)
  .filter((n) => n !== 'SHA256SUMS')
  .sort()
  .map((n) => `${createHash('sha256').update(readFileSync(join(out, n))).digest('hex')}  ${n}`)
  .join('\n');
writeFileSync(join(out, 'SHA256SUMS'), sums + '\n');

if (testsOut) {
  rmSync(testsOut, { recursive: true, force: true });
  const entries = readdirSync(join(here, 'test'))
    .filter((n) => n.endsWith('.test.ts'))
    .map((n) => join('test', n));
  await build({
    absWorkingDir: here,
    entryPoints: entries,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: ['node18'],
    outdir: testsOut,
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
    plugins: [templatesPlugin],
    // libsodium's loader calls require('crypto') under node
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  // The verified client for the integration tests: under node, and in the page.
  await build({
    absWorkingDir: here,
    entryPoints: ['test/harness.ts'],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: ['node18'],
    outfile: join(testsOut, 'harness.mjs'),
    logLevel: 'warning',
    plugins: [templatesPlugin],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  await build({
    absWorkingDir: here,
    entryPoints: ['test/harness-browser.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    outfile: join(testsOut, 'harness-browser.js'),
    logLevel: 'warning',
    external: ['crypto'],
    plugins: [templatesPlugin],
  });
}

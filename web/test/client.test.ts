/* The client's own pieces without a hub: the templates compiled in, content validation,
 * the escaping of the hub's strings, and the strict parsing of notes, checkpoints and
 * tlog-proofs (a hub's text that does not parse is refused, never half-read). */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { memoryTrustStore, ParleyClient, Refusal, safe, templates, validateContent } from '../src/lib/client';
import { generateIdentity } from '../src/lib/keys';
import { sodiumReady } from '../src/lib/sodium';
import { checkpointParse, dirExtParse, noteParse, TlogError, tlogProofParse } from '../src/lib/tlog';
import { env } from './env';

test('every templates/*.json is compiled in, with all six languages', () => {
  const files = readdirSync(join(env('PARLEY_SRC'), 'templates')).filter((n) => n.endsWith('.json'));
  const t = templates();
  assert.equal(t.length, files.length);
  for (const x of t) {
    for (const l of ['ar', 'zh', 'en', 'fr', 'ru', 'es'] as const) assert.ok(x.title[l], `${x.kind} title ${l}`);
    for (const f of x.fields) assert.ok(f.labels.fr && f.labels.ar, `${x.kind}.${f.name} labels`);
  }
});

test('validateContent names the field, libparley first', () => {
  assert.deepEqual(validateContent('ping', { challenge: 'abc' }), []);
  assert.equal(validateContent('ping', {})[0]?.field, 'challenge');
  assert.equal(validateContent('ping', { challenge: 'a', x: 1 })[0]?.field, 'x');
  assert.equal(validateContent('nope', {})[0]?.field, 'kind');
});

test("the hub's strings are shown with control characters escaped, as parley does", () => {
  assert.equal(safe('a\u001b[2J\u0007b\u009bc\u007fd\r\n\te'), 'a\\x1b[2J\\x07b\\u009bc\\x7fd\\x0d\\n\\te');
  assert.equal(safe(7), '(missing)');
  assert.equal(safe(undefined), '(missing)');
});

const CP = 'test.parley.localhost\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nparley-directory/v1 3 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';

test('checkpoints and notes are parsed strictly', () => {
  const cp = checkpointParse(CP);
  assert.equal(cp.size, 5);
  assert.equal(dirExtParse(cp).count, 3);
  for (const bad of [CP.replace('\n5\n', '\n05\n'), CP.replace('AAA=\nparley', 'AA=\nparley'), `${CP}\n`, CP.replace('test.parley', 'te\u0007st'), CP.slice(0, 30)])
    assert.throws(() => checkpointParse(bad), TlogError);
  assert.throws(() => dirExtParse(checkpointParse(CP + 'parley-directory/v1 3 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n')), TlogError);
  const sig = Buffer.alloc(68, 1).toString('base64');
  const note = noteParse(`${CP}\n\u2014 test.parley.localhost ${sig}\n`);
  assert.equal(note.text, CP);
  assert.equal(note.sigs.length, 1);
  assert.throws(() => noteParse(`${CP}\n- test.parley.localhost ${sig}\n`), TlogError);
  assert.throws(() => noteParse(`${CP}\n\u2014 test.parley.localhost ${sig.replace(/=*$/, '')}\n`), TlogError);
  assert.throws(() => noteParse(`${CP}\n\u2014 bad name ${sig}\n`), TlogError);
  const proof = tlogProofParse(`c2sp.org/tlog-proof@v1\nindex 3\n${Buffer.alloc(32, 2).toString('base64')}\n\n${CP}`);
  assert.equal(proof.index, 3);
  assert.equal(proof.proof.length, 1);
  assert.throws(() => tlogProofParse(`c2sp.org/tlog-proof@v1\nindex 03\n\n${CP}`), TlogError);
  assert.throws(() => tlogProofParse(`c2sp.org/tlog-proof@v1\n${Buffer.alloc(32).toString('base64')}\nindex 3\n\n${CP}`), TlogError);
});

test('a hub that cannot be reached, or an id that is not one, is a Refusal', async () => {
  const na = await sodiumReady();
  const c = new ParleyClient(na, 'http://127.0.0.1:9', generateIdentity(na), memoryTrustStore());
  await assert.rejects(c.open('not-an-id'), (e: unknown) => e instanceof Refusal && e.code === 'INVALID_ARGUMENT');
  await assert.rejects(c.verifiedRecord('est'), (e: unknown) => e instanceof Refusal && e.code === 'INVALID_ARGUMENT');
  await assert.rejects(c.whoami(), (e: unknown) => e instanceof Refusal && e.code === 'HUB_UNREACHABLE');
  assert.throws(() => c.setWitnesses(['not a key'], 1), Refusal);
});

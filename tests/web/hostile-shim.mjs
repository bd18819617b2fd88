// Stands in for `parley` in tests/hostile/runner.py (test_hostile.sh): forwards
// "--config USER.conf ARGS..." to the page's controller (hostile.mjs) and prints its
// rendering of what ParleyClient did, with its exit status.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const config = args[0] === '--config' ? args[1] : '';
const port = readFileSync(join(process.env.HOSTILE_WORK, 'ctrl-port'), 'utf8').trim();
const r = await fetch(`http://127.0.0.1:${port}/run`, { method: 'POST', body: JSON.stringify({ config, args: args.slice(2) }) });
const { exit, out } = await r.json();
process.stdout.write(`${out}\n`);
process.exit(exit);

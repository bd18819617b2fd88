/* What the node tests need from the build: paths from the environment ctest sets. */
import { spawnSync, SpawnSyncOptions } from 'node:child_process';

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run the tests through ctest)`);
  return v;
}

export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

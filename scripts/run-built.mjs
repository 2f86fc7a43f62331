#!/usr/bin/env node
// Builds a workspace package (and what it depends on) with turbo, quietly, then runs one of its
// built scripts with the remaining arguments. Keeps stdout free for the program's own output.
// Usage: node scripts/run-built.mjs [--in-invocation-dir] <package name> <script path relative to the repo> [args...]
// --in-invocation-dir runs the script in the directory the command was typed in (pnpm runs scripts
// from the repository root and sets INIT_CWD to that directory), so relative paths in its
// arguments mean what the user meant; without it the script runs in the repository root.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const inInvocationDir = process.argv[2] === '--in-invocation-dir';
const [pkg, script, ...args] = process.argv.slice(inInvocationDir ? 3 : 2);
const turbo = join(root, 'node_modules', '.bin', 'turbo');
const build = spawnSync(turbo, ['run', 'build', `--filter=${pkg}...`, '--output-logs=errors-only'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, TURBO_NO_UPDATE_NOTIFIER: '1', TURBO_TELEMETRY_DISABLED: '1' },
});
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? '');
  process.stderr.write(build.stderr ?? '');
  process.stderr.write(`\nBuilding ${pkg} failed; fix the errors above (or run 'pnpm install' first).\n`);
  process.exit(build.status ?? 1);
}
if (inInvocationDir && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
process.argv = [process.argv[0], join(root, script), ...args];
await import(pathToFileURL(join(root, script)).href);

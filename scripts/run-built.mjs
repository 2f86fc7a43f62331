#!/usr/bin/env node
// Builds a workspace package (and what it depends on) with turbo, quietly, then runs one of its
// built scripts with the remaining arguments. Keeps stdout free for the program's own output.
// Usage: node scripts/run-built.mjs <package name> <script path relative to the repo> [args...]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [pkg, script, ...args] = process.argv.slice(2);
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
process.argv = [process.argv[0], join(root, script), ...args];
await import(pathToFileURL(join(root, script)).href);

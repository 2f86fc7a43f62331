#!/usr/bin/env node
// Builds a workspace package (and what it depends on) with turbo, quietly, then runs one of its
// built scripts with the remaining arguments. Keeps stdout free for the program's own output.
// Usage: node scripts/run-built.mjs [--in-invocation-dir] <package name> <script path relative to the repo> [args...]
// --in-invocation-dir runs the script in the directory the command was typed in (pnpm runs root
// scripts from the repository root and sets INIT_CWD to that directory), so relative paths in its
// arguments mean what the user meant; without it the script runs in the repository root.
// The bins of tools/workspace-commands call runBuilt() when a command is typed in a package folder:
// pnpm finds no script of that name there and runs the root's bin in the folder typed in (no INIT_CWD).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A build that takes longer than this says what is happening (an up-to-date build takes about a second; ICOT_BUILD_NOTICE_MS sets it). */
const QUIET_BUILD_MS = Number(process.env.ICOT_BUILD_NOTICE_MS ?? 2000);

function build(pkg) {
  return new Promise((resolve) => {
    const started = Date.now();
    const turbo = spawn(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'build', `--filter=${pkg}...`, '--output-logs=errors-only'], {
      cwd: root,
      env: { ...process.env, TURBO_NO_UPDATE_NOTIFIER: '1', TURBO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    turbo.stdout.on('data', (chunk) => (output += chunk));
    turbo.stderr.on('data', (chunk) => (output += chunk));
    let announced = false;
    const timer = setTimeout(() => {
      announced = true;
      process.stderr.write(`icot: building ${pkg} and the workspace packages it uses (the first run after a clone or a change takes up to a minute) ...\n`);
    }, QUIET_BUILD_MS);
    const done = (status, error) => {
      clearTimeout(timer);
      if (announced && status === 0) process.stderr.write(`icot: built in ${Math.round((Date.now() - started) / 1000)} s\n`);
      resolve({ status, output: error ? `${output}${error.message}\n` : output });
    };
    turbo.on('error', (error) => done(1, error));
    turbo.on('close', (status) => done(status ?? 1));
  });
}

/**
 * Build `pkg` and what it depends on, then run `script` (a path relative to the repository) with
 * `args` in `cwd` (default: the repository root).
 */
export async function runBuilt({ pkg, script, args, cwd = root }) {
  const result = await build(pkg);
  if (result.status !== 0) {
    process.stderr.write(result.output);
    process.stderr.write(`\nBuilding ${pkg} failed; fix the errors above (or run 'pnpm install' first).\n`);
    process.exit(result.status);
  }
  process.chdir(cwd);
  process.argv = [process.argv[0], join(root, script), ...args];
  await import(pathToFileURL(join(root, script)).href);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const inInvocationDir = process.argv[2] === '--in-invocation-dir';
  const [pkg, script, ...args] = process.argv.slice(inInvocationDir ? 3 : 2);
  // a root script: pnpm runs it in the root and sets INIT_CWD to the folder the command was typed in
  await runBuilt({ pkg, script, args, cwd: inInvocationDir ? (process.env.INIT_CWD ?? process.cwd()) : root });
}

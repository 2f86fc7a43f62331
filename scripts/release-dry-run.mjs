#!/usr/bin/env node
// The release flow of docs/releasing.md, up to the point of no return, on a scratch clone:
//
//   node scripts/release-dry-run.mjs      (after `pnpm build`; CI runs it from .ci/run)
//
// 1. `git clone` of the committed HEAD into a temporary folder (what a release starts from);
// 2. `changeset version` there: the pending changesets become version bumps and CHANGELOG.md entries
//    (a changeset naming an unknown package or a bad bump fails here);
// 3. `pnpm install --frozen-lockfile --prefer-offline --ignore-scripts` there (the bumped versions
//    must not need a lockfile change) and the build outputs copied from this checkout (same sources);
// 4. `pnpm publish -r --dry-run --no-git-checks` there (changesets has no dry run; `changeset publish`
//    runs `pnpm publish` for each package not yet on the registry): every publishable package must be
//    packed and reported at its bumped version (scripts/consumer-smoke.mjs checks the packed manifests).
// Nothing is published and this checkout is not changed. Set ICOT_RELEASE_KEEP=1 to keep the clone.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
let scratch;

function fail(message) {
  console.error(`release-dry-run: FAILED: ${message}`);
  if (scratch) console.error(`release-dry-run: the clone is in ${scratch}`);
  process.exit(1);
}

function log(message) {
  console.error(`release-dry-run: ${message}`);
}

/** Environment without the npm_* variables a `pnpm run` parent sets. */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_|PNPM_)/i.test(key)));
}

function run(command, args, cwd) {
  const t0 = Date.now();
  const result = spawnSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) fail(`${command}: ${result.error.message}`);
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    process.stderr.write(output.slice(-8000));
    fail(`${[command, ...args].join(' ')} exited with ${result.status ?? result.signal} (in ${cwd})`);
  }
  return { output, seconds: (Date.now() - t0) / 1000 };
}

/** The workspace's publishable packages: name, version and folder relative to the root. */
function publishablePackages(dir) {
  const listed = JSON.parse(run('pnpm', ['ls', '-r', '--depth', '-1', '--json'], dir).output);
  return listed
    .filter((p) => p.path !== dir && !p.private)
    .map((p) => ({ name: p.name, version: p.version, folder: relative(dir, p.path) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const before = publishablePackages(root);
for (const pkg of before) if (!existsSync(join(root, pkg.folder, 'dist'))) fail(`${pkg.name} has no dist/ - run \`pnpm build\` first`);

scratch = mkdtempSync(join(tmpdir(), 'icot-release-'));
const clone = join(scratch, 'icot');
run('git', ['clone', '--quiet', '--no-hardlinks', root, clone], root);
const head = run('git', ['rev-parse', '--short', 'HEAD'], clone).output.trim();
const pending = run('git', ['ls-files', '.changeset/*.md'], clone).output.split('\n').filter((f) => f && !f.endsWith('README.md'));
log(`cloned ${head}; ${pending.length} pending changesets`);

const changeset = join(root, 'node_modules', '.bin', 'changeset');
const versioned = run(changeset, ['version'], clone);
log(`changeset version: ok in ${versioned.seconds.toFixed(1)} s`);
const left = run('git', ['ls-files', '--others', '--exclude-standard', '--', '.changeset'], clone).output.trim();
const remaining = run('git', ['status', '--porcelain', '--', '.changeset'], clone).output.split('\n').filter((line) => line.startsWith(' D') || line.startsWith('D '));
if (pending.length && remaining.length !== pending.length) fail(`changeset version consumed ${remaining.length} of ${pending.length} changesets`);
if (left) fail(`changeset version left new files in .changeset: ${left}`);

const after = publishablePackages(clone);
const bumped = after.filter((pkg) => pkg.version !== before.find((b) => b.name === pkg.name)?.version);
log(`versions: ${after.map((p) => `${p.name}@${p.version}`).join(', ')} (${bumped.length} bumped)`);
if (pending.length && bumped.length === 0) fail('changeset version bumped no package although changesets were pending');
for (const pkg of bumped) {
  const changelog = join(clone, pkg.folder, 'CHANGELOG.md');
  if (!existsSync(changelog) || !readFileSync(changelog, 'utf8').includes(`## ${pkg.version}`)) fail(`${pkg.name}: CHANGELOG.md has no "## ${pkg.version}" section`);
}

const installed = run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--ignore-scripts', '--reporter', 'silent'], clone);
log(`pnpm install --frozen-lockfile in the clone: ok in ${installed.seconds.toFixed(1)} s`);
for (const pkg of after) cpSync(join(root, pkg.folder, 'dist'), join(clone, pkg.folder, 'dist'), { recursive: true });

const published = run('pnpm', ['publish', '-r', '--dry-run', '--no-git-checks'], clone);
const reported = new Set([...published.output.matchAll(/^\+ (\S+)$/gm)].map((m) => m[1]));
for (const pkg of after) {
  if (!reported.has(`${pkg.name}@${pkg.version}`)) fail(`pnpm publish --dry-run did not report ${pkg.name}@${pkg.version}:\n${published.output.slice(-4000)}`);
}
log(`pnpm publish -r --dry-run --no-git-checks: ${reported.size} packages, ok in ${published.seconds.toFixed(1)} s`);

if (process.env.ICOT_RELEASE_KEEP === '1') log(`kept ${scratch}`);
else rmSync(scratch, { recursive: true, force: true });
log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);

#!/usr/bin/env node
// The consumer smoke test: icot as a user gets it from npm, before it is published.
//
//   node scripts/consumer-smoke.mjs      (after `pnpm build`; CI runs it from .ci/run)
//
// 1. Packs every publishable package with `pnpm pack` (which rewrites `workspace:` ranges to
//    versions, as `pnpm publish` does) and checks each tarball: README.md, LICENSE, built entry
//    points, no `workspace:` range, the metadata npm shows (repository, homepage, keywords, files,
//    engines, license).
// 2. Creates a project outside the workspace (in os.tmpdir()) and runs the README's install blocks
//    there with npm, as they are written, with one change: each `@icot/<name>` on an install line
//    becomes its packed tarball (the packages are not on the registry yet). The project's
//    `overrides` map every `@icot/*` package to its tarball too, so dependencies between icot
//    packages resolve to the tarballs; every other package comes from the npm registry (through
//    npm's cache) exactly as for a user.
// 3. Runs the README's `icot` block, `npx icot run --json` (parsed: tokens, insertions of k
//    patches), and the README's library snippet (`node icot-demo.mjs`, which must insert), and
//    type-checks the snippet against the installed packages' types with the workspace's tsc.
//
// The blocks are found through `<!-- consumer-smoke: <id> -->` comments in README.md, so the README
// and this test cannot drift apart. Set ICOT_SMOKE_KEEP=1 to keep the project folder.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const keep = process.env.ICOT_SMOKE_KEEP === '1';

let work; // the temporary folder, kept when the test fails
function fail(message) {
  console.error(`consumer-smoke: FAILED: ${message}`);
  if (work) console.error(`consumer-smoke: the packed tarballs and the project are in ${work}`);
  process.exit(1);
}

function log(message) {
  console.error(`consumer-smoke: ${message}`);
}

/** Run a command; returns { status, stdout, stderr, seconds }; fails the test unless `allowFailure`. */
function run(command, args, { cwd, env = process.env, allowFailure = false, label = [command, ...args].join(' ') } = {}) {
  const t0 = Date.now();
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = (Date.now() - t0) / 1000;
  if (result.error) fail(`${label}: ${result.error.message}`);
  if (result.status !== 0 && !allowFailure) {
    process.stderr.write(result.stdout.slice(-6000));
    process.stderr.write(result.stderr.slice(-6000));
    fail(`${label} exited with ${result.status ?? result.signal} (in ${cwd})`);
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, seconds };
}

/** Start a command; resolves to { status, stdout, seconds } when it ends. */
function runInBackground(command, args, { cwd, env }) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stdout += chunk));
    child.on('error', (error) => fail(`${command}: ${error.message}`));
    child.on('close', (status) => resolve({ status, stdout, seconds: (Date.now() - t0) / 1000 }));
  });
}

// ---------------------------------------------------------------------------------------------
// The publishable packages of the workspace.
const workspace = JSON.parse(run('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: root }).stdout);
const publishable = workspace
  .filter((p) => p.path !== root && !p.private)
  .map((p) => ({ name: p.name, version: p.version, dir: p.path, manifest: JSON.parse(readFileSync(join(p.path, 'package.json'), 'utf8')) }))
  .sort((a, b) => a.name.localeCompare(b.name));
if (publishable.length === 0) fail('no publishable package found (pnpm ls -r)');
for (const pkg of publishable) {
  for (const entry of entryFiles(pkg.manifest)) {
    if (!existsSync(join(pkg.dir, entry))) fail(`${pkg.name}: ${entry} does not exist - run \`pnpm build\` first`);
  }
}

/** Every file an exports map or bin points at (conditions other than the workspace's source one). */
function entryFiles(manifest) {
  const files = new Set();
  const walk = (value, condition) => {
    if (typeof value === 'string') {
      if (condition !== '@icot/source') files.add(value);
    } else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) walk(inner, key.startsWith('.') ? condition : key);
    }
  };
  walk(manifest.exports);
  walk(manifest.bin);
  return [...files];
}

// ---------------------------------------------------------------------------------------------
// 1. Pack.
work = mkdtempSync(join(tmpdir(), 'icot-consumer-'));
const tarballDir = join(work, 'tarballs');
mkdirSync(tarballDir);
const packed = run('pnpm', ['-r', ...publishable.flatMap((p) => ['--filter', p.name]), 'pack', '--pack-destination', tarballDir], { cwd: root });
log(`packed ${publishable.length} packages in ${packed.seconds.toFixed(1)} s`);
const tarballs = new Map();
for (const pkg of publishable) {
  const file = join(tarballDir, `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`);
  if (!existsSync(file)) fail(`pnpm pack wrote no ${relative(work, file)} for ${pkg.name} (found: ${readdirSync(tarballDir).join(', ')})`);
  tarballs.set(pkg.name, file);
  checkTarball(pkg, file);
}
log('every tarball has README.md, LICENSE, its entry points, npm metadata and no workspace: range');

function checkTarball(pkg, file) {
  const listing = new Set(run('tar', ['-tzf', file]).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')));
  for (const needed of ['package.json', 'README.md', 'LICENSE', ...entryFiles(pkg.manifest).map((f) => f.replace(/^\.\//, ''))]) {
    if (!listing.has(needed)) fail(`${pkg.name}: the tarball has no ${needed}`);
  }
  for (const file of listing) if (/\.test\.[cm]?[jt]s$/.test(file)) fail(`${pkg.name}: the tarball ships a test file, ${file}`);
  const manifest = JSON.parse(run('tar', ['-xzOf', file, 'package/package.json']).stdout);
  for (const field of ['description', 'license', 'repository', 'homepage', 'keywords', 'files', 'engines', 'exports']) {
    if (manifest[field] === undefined) fail(`${pkg.name}: package.json has no "${field}"`);
  }
  if (!manifest.repository.directory) fail(`${pkg.name}: package.json repository has no "directory"`);
  for (const kind of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(manifest[kind] ?? {})) {
      if (String(range).startsWith('workspace:')) fail(`${pkg.name}: the packed ${kind} keep ${dep}@${range}`);
      if (tarballs.has(dep) || publishable.some((p) => p.name === dep)) {
        const version = publishable.find((p) => p.name === dep).version;
        if (range !== version) fail(`${pkg.name}: packed ${kind}.${dep} is ${range}, not the workspace version ${version}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 2. The README's blocks.
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The fenced block after `<!-- consumer-smoke: id ... -->`. */
function readmeBlock(id) {
  const marker = new RegExp(`<!-- consumer-smoke: ${id}(?:\\s[^>]*)?-->\\s*\\n\`\`\`(\\w*)\\n([\\s\\S]*?)\\n\`\`\`\\n`);
  const match = marker.exec(readme);
  if (!match) fail(`README.md has no block marked <!-- consumer-smoke: ${id} --> followed by a fenced code block`);
  return { language: match[1], text: match[2] };
}

/** Shell lines of a block, comments dropped. */
function commandLines(block) {
  return block.text
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

/** An install line with each `@icot/<name>` replaced by its tarball. */
function withTarballs(line) {
  if (!/(^|\s)npm (install|i|add)(\s|$)/.test(line)) return line;
  return line.replace(/@icot\/[a-z0-9-]+/g, (name) => {
    const file = tarballs.get(name);
    if (!file) fail(`README.md installs ${name}, which is not a publishable package of this workspace`);
    return tarballSpec(name);
  });
}

const project = join(work, 'project');
mkdirSync(project);
/** The spec of a package's tarball, relative to the project (as npm saves it, so that an override and a direct dependency agree). */
const tarballSpec = (name) => `file:${relative(project, tarballs.get(name))}`;
// What a user has: an npm project (`npm init -y`). The overrides stand in for the registry entries
// of the unpublished icot packages.
run('npm', ['init', '-y'], { cwd: project, env: cleanEnv() });
const manifestPath = join(project, 'package.json');
const projectManifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
projectManifest.overrides = Object.fromEntries([...tarballs.keys()].map((name) => [name, tarballSpec(name)]));
writeFileSync(manifestPath, `${JSON.stringify(projectManifest, null, 2)}\n`);

/**
 * The environment of a user's shell: none of the npm_* variables a `pnpm run` or `npm run` parent
 * sets, no ONNXRUNTIME_NODE_INSTALL of the caller (the README's line must set it itself), and the
 * hub and icot caches in the temporary folder, offline (the demo needs no network).
 */
function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|INIT_CWD$|ONNXRUNTIME_NODE_INSTALL)/i.test(key)) continue;
    env[key] = value;
  }
  env.HF_HUB_CACHE = join(work, 'hf-cache');
  env.ICOT_CACHE_DIR = join(work, 'icot-cache');
  env.HF_HUB_OFFLINE = '1';
  return env;
}

function runLine(line, label) {
  const result = run('/bin/sh', ['-c', line], { cwd: project, env: cleanEnv(), label });
  log(`${label}: ok in ${result.seconds.toFixed(1)} s`);
  return result;
}

// The `icot` command block: install, then the demo run, as written.
const cliBlock = readmeBlock('cli');
const cliLines = commandLines(cliBlock);
if (!cliLines.some((line) => /npm (install|i|add)\b.*@icot\/cli/.test(line))) fail('the README cli block does not install @icot/cli');
for (const line of cliLines) runLine(withTarballs(line), line);

// The skip must have worked: no CUDA provider libraries next to onnxruntime-node's binding.
if (process.platform === 'linux' && process.arch === 'x64') {
  const bin = join(project, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
  if (!existsSync(join(bin, 'libonnxruntime.so.1'))) fail(`onnxruntime-node's CPU runtime is missing in ${bin}`);
  const cuda = readdirSync(bin).filter((f) => f.includes('providers_cuda'));
  if (cuda.length) fail(`the README's install downloaded CUDA libraries: ${cuda.join(', ')}`);
}

// `npx icot run --json`: one JSON object with the run.
const json = run('npx', ['icot', 'run', '--json'], { cwd: project, env: cleanEnv() });
let output;
try {
  output = JSON.parse(json.stdout);
} catch (error) {
  fail(`npx icot run --json printed no JSON object on stdout (${error.message}): ${json.stdout.slice(0, 400)}`);
}
if (!Array.isArray(output.tokens) || output.tokens.length === 0) fail('npx icot run --json: no tokens');
if (!Array.isArray(output.insertions) || output.insertions.length === 0) fail('npx icot run --json: no insertion on the demo model');
for (const insertion of output.insertions) {
  const selected = insertion.selected;
  if (!Array.isArray(selected) || selected.length !== 16 || selected.some((i) => !Number.isInteger(i) || i < 0 || i >= 64)) {
    fail(`npx icot run --json: an insertion does not select 16 of the demo image's 64 patches: ${JSON.stringify(selected)}`);
  }
}
log(`npx icot run --json: ${output.tokens.length} tokens, ${output.insertions.length} insertions, in ${json.seconds.toFixed(1)} s`);

// The library: its install block, then the snippet saved as the README says.
for (const line of commandLines(readmeBlock('library-install'))) runLine(withTarballs(line), line);
const snippet = readmeBlock('library');
if (snippet.language !== 'js') fail(`the README library block is \`\`\`${snippet.language}, expected \`\`\`js (it is saved as icot-demo.mjs)`);
writeFileSync(join(project, 'icot-demo.mjs'), `${snippet.text}\n`);
const demo = runLine('node icot-demo.mjs', 'node icot-demo.mjs');
if (!/insertions: \[\s*\[\s*\d/.test(demo.stdout)) fail(`the README snippet inserted nothing; it printed: ${demo.stdout.slice(-600)}`);

// Every package README: its install lines name the package, every icot package its examples import,
// and ONNXRUNTIME_NODE_INSTALL=skip where onnxruntime-node is in the tree; its examples run here
// (every package they import is installed by now, by the README's lines above).
const examples = [{ name: 'README.md (library)', file: 'icot-demo.mts', text: snippet.text }];
const needsOrt = new Map();
const pullsOnnxRuntime = (name) => {
  if (!needsOrt.has(name)) {
    const manifest = publishable.find((p) => p.name === name)?.manifest ?? {};
    const deps = Object.keys(manifest.dependencies ?? {});
    needsOrt.set(name, deps.some((dep) => dep === 'onnxruntime-node' || dep === '@huggingface/transformers' || (dep.startsWith('@icot/') && pullsOnnxRuntime(dep))));
  }
  return needsOrt.get(name);
};
const shellBlocks = (text) => [...text.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1]);
let vitestExample;
for (const pkg of publishable) {
  const text = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
  const installs = shellBlocks(text).flatMap((block) => block.split('\n')).filter((line) => /\bnpm (install|i|add)\b/.test(line));
  if (!installs.length) fail(`${pkg.name}: README.md has no npm install line`);
  if (!installs[0].includes(pkg.name)) fail(`${pkg.name}: the first install line of its README does not install it: ${installs[0]}`);
  for (const line of installs) {
    const named = line.match(/@icot\/[a-z0-9-]+/g) ?? [];
    for (const name of named) if (!tarballs.has(name)) fail(`${pkg.name}: its README installs ${name}, which does not exist`);
    const skip = /^ONNXRUNTIME_NODE_INSTALL=skip /.test(line.trim());
    if (named.some(pullsOnnxRuntime) !== skip) {
      fail(`${pkg.name}: README line \`${line.trim()}\` ${skip ? 'sets ONNXRUNTIME_NODE_INSTALL=skip without need' : 'installs onnxruntime-node without ONNXRUNTIME_NODE_INSTALL=skip'}`);
    }
  }
  const installed = new Set(installs.flatMap((line) => line.match(/@icot\/[a-z0-9-]+/g) ?? []));
  for (const match of text.matchAll(/<!-- consumer-smoke: (example|vitest)(?:\s[^>]*)?-->\s*\n```(\w*)\n([\s\S]*?)\n```\n/g)) {
    const [, kind, language, code] = match;
    if (language !== 'js') fail(`${pkg.name}: a README example marked for the smoke test is \`\`\`${language}, expected \`\`\`js`);
    for (const [, imported] of code.matchAll(/from '(@icot\/[a-z0-9-]+)[^']*'/g)) {
      if (!installed.has(imported)) fail(`${pkg.name}: its README example imports ${imported}, which none of its install lines installs`);
    }
    const file = `example-${pkg.name.replace(/^@icot\//, '')}.mts`;
    if (kind === 'vitest') vitestExample = { name: pkg.name, installs, code };
    else examples.push({ name: `${pkg.name} README`, file, text: code });
  }
}
// @icot/testing: its install lines (before anything reads node_modules concurrently).
if (!vitestExample) fail('@icot/testing: README.md has no example marked <!-- consumer-smoke: vitest -->');
for (const line of vitestExample.installs) runLine(withTarballs(line), line);

// The examples type-check against the published types (TypeScript from the workspace; @types/node
// as a TypeScript user has it). Library .d.ts files are checked too: a published type that needs a
// package the consumer does not have fails here. tsc runs while the examples run.
for (const example of examples) writeFileSync(join(project, example.file), `${example.text}\n`);
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const typeRoots = join(root, 'node_modules', '@types');
const typeCheck = runInBackground(
  process.execPath,
  [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', typeRoots, ...examples.map((e) => e.file)],
  { cwd: project, env: cleanEnv() },
);

for (const example of examples.slice(1)) {
  const file = example.file.replace(/\.mts$/, '.mjs');
  writeFileSync(join(project, file), `${example.text}\n`);
  runLine(`node ${file}`, `${example.name}: node ${file}`);
}

// @icot/testing: its conformance example under vitest.
writeFileSync(join(project, 'selector.test.mjs'), `${vitestExample.code}\n`);
const vitest = runLine('npx vitest run selector.test.mjs', `${vitestExample.name} README: npx vitest run`);
const vitestOutput = (vitest.stdout + vitest.stderr).replace(/\x1b\[[0-9;]*m/g, '');
const passed = /Tests\s+(\d+) passed/.exec(vitestOutput);
if (!passed || /\d+ failed/.test(vitestOutput)) fail(`vitest reported no passing tests: ${vitestOutput.slice(-800)}`);
log(`@icot/testing README: the selector conformance suite passed ${passed[1]} tests under vitest`);

const check = await typeCheck;
if (check.status !== 0) {
  process.stderr.write(check.stdout.slice(-8000));
  fail('README examples do not type-check against the installed packages');
}
log(`${examples.length} README examples type-check against the installed packages (${check.seconds.toFixed(1)} s)`);

if (keep) log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);

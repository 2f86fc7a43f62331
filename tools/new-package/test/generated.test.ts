import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPackage, PACKAGE_KINDS, type PackageKind } from '../src/index.js';

// Generates one package of each kind in a temporary workspace laid out like this repository
// (its packages linked in, node_modules linked as pnpm links a workspace package's dependencies)
// and runs what a contributor runs first: the package's tests (its conformance suite) and its
// type check, as separate processes.

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const vitestBin = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const tscBin = createRequire(join(repo, 'package.json')).resolve('typescript/bin/tsc');
const eslintBin = join(dirname(createRequire(join(repo, 'package.json')).resolve('eslint/package.json')), 'bin', 'eslint.js');

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<Finished> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'NODE_OPTIONS', 'TEST']) delete env[name];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Name -> folder of every package of this repository's packages/. */
async function workspacePackages(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const entry of await readdir(join(repo, 'packages'), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    try {
      const manifest = JSON.parse(await readFile(join(repo, 'packages', entry.name, 'package.json'), 'utf8')) as { name: string };
      found.set(manifest.name, join(repo, 'packages', entry.name));
    } catch {
      // not a package
    }
  }
  return found;
}

/** Where a registry dependency is installed in this repository (the first package that has it). */
async function installed(name: string, packages: Map<string, string>): Promise<string> {
  for (const dir of packages.values()) {
    try {
      return await realpath(join(dir, 'node_modules', name));
    } catch {
      // not here
    }
  }
  throw new Error(`no package of the repository depends on ${name}`);
}

let workspace: string;
let packages: Map<string, string>;
beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'icot-new-package-'));
  packages = await workspacePackages();
  for (const file of ['pnpm-workspace.yaml', 'tsconfig.base.json', 'vitest.shared.ts', 'eslint.config.js', 'LICENSE']) await copyFile(join(repo, file), join(workspace, file));
  await writeFile(join(workspace, 'package.json'), `${JSON.stringify({ name: 'scratch-workspace', private: true, type: 'module' }, null, 2)}\n`);
  await mkdir(join(workspace, '.changeset'));
  await mkdir(join(workspace, 'packages'));
  await symlink(join(repo, 'node_modules'), join(workspace, 'node_modules'), 'dir');
  for (const dir of packages.values()) await symlink(dir, join(workspace, 'packages', dir.slice(dir.lastIndexOf('/') + 1)), 'dir');
});
afterAll(async () => {
  if (workspace) await rm(workspace, { recursive: true, force: true });
});

/** Generate a `kind` package in the temporary workspace and link its dependencies as `pnpm install` would. */
async function generate(kind: PackageKind): Promise<string> {
  const { dir } = await createPackage({ root: workspace, kind, name: 'example' });
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
    const target = range.startsWith('workspace:') ? packages.get(name) : await installed(name, packages);
    if (!target) throw new Error(`${name} is not a package of this workspace`);
    await mkdir(dirname(join(dir, 'node_modules', name)), { recursive: true });
    await symlink(target, join(dir, 'node_modules', name), 'dir');
  }
  return dir;
}

interface VitestReport {
  readonly numFailedTests: number;
  readonly numPassedTests: number;
  readonly testResults: readonly { readonly message?: string; readonly assertionResults: readonly { readonly fullName: string; readonly status: string }[] }[];
}

describe('pnpm new-package: a generated package passes its conformance suite on the first run', () => {
  for (const kind of PACKAGE_KINDS)
    it(`${kind}: tests (the conformance suite), type check and eslint pass as generated`, async () => {
      const dir = await generate(kind);
      const [tests, types, lint] = await Promise.all([
        run(process.execPath, [vitestBin, 'run', '--reporter=json'], dir),
        run(process.execPath, [tscBin, '-p', 'tsconfig.json', '--noEmit'], dir),
        run(process.execPath, [eslintBin, kind === 'backend' ? 'src test' : 'src'].flatMap((a) => a.split(' ')), dir),
      ]);
      expect(types.code, `tsc:\n${types.stdout}${types.stderr}`).toBe(0);
      expect(lint.code, `eslint:\n${lint.stdout}${lint.stderr}`).toBe(0);
      const report = JSON.parse(tests.stdout.slice(tests.stdout.indexOf('{'))) as VitestReport;
      const results = report.testResults.flatMap((file) => file.assertionResults);
      const failed = results.filter((t) => t.status !== 'passed').map((t) => t.fullName);
      const messages = report.testResults.map((file) => file.message ?? '').join('\n');
      expect(tests.code, `vitest (not passed: ${failed.join('; ')}):\n${messages}\n${tests.stderr.slice(-4000)}`).toBe(0);
      const names = results.map((t) => t.fullName);
      expect(report.numFailedTests).toBe(0);
      expect(names.filter((name) => /V2 conformance: /.test(name) && name.includes('example')).length).toBeGreaterThanOrEqual(5);
    }, 240_000);
});

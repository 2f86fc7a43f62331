import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedPaths, folderState, userCacheFolders } from './cache-guard.js';

const guardFile = fileURLToPath(new URL('./cache-guard.ts', import.meta.url));
const vitestBin = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

let root: string;
let home: string;
let project: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'icot-guard-test-'));
  home = join(root, 'home');
  project = join(root, 'project');
  await mkdir(join(home, '.cache', 'icot'), { recursive: true });
  await mkdir(project, { recursive: true });
  await writeFile(join(project, 'vitest.config.mjs'), `export default { test: { include: ['*.test.mjs'], globalSetup: [${JSON.stringify(guardFile)}] } };\n`);
  // A test that sees temporary caches, and (when asked) writes into the user's real one.
  await writeFile(
    join(project, 'probe.test.mjs'),
    `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
test('probe', async () => {
  expect(process.env.ICOT_CACHE_DIR).toMatch(/icot-test-caches-/);
  expect(process.env.HF_HUB_CACHE).toMatch(/icot-test-caches-/);
  if (process.env.PROBE_WRITE) await writeFile(join(process.env.HOME, '.cache', 'icot', 'written-by-a-test'), 'x');
});
`,
  );
});
afterAll(() => rm(root, { recursive: true, force: true }));

function runVitest(extraEnv: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extraEnv };
  for (const name of ['XDG_CACHE_HOME', 'ICOT_CACHE_DIR', 'HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'NODE_OPTIONS'])
    delete env[name];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vitestBin, 'run', '--root', project, '--config', join(project, 'vitest.config.mjs')], { env, cwd: project });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the cache guard', () => {
  it('records folder states and names what changed', async () => {
    const dir = join(root, 'state');
    await mkdir(dir, { recursive: true });
    const before = await folderState(dir);
    await writeFile(join(dir, 'a'), 'x');
    expect(changedPaths(before, await folderState(dir))).toEqual([`added ${join(dir, 'a')}`]);
    expect(userCacheFolders({ HOME: '/h', XDG_CACHE_HOME: '/x' })).toEqual(['/x/huggingface', '/x/huggingface/hub', '/x/icot']);
  });

  it('points the caches at temporary folders, and fails the run when a test writes into the real ones', async () => {
    const clean = await runVitest({});
    expect(clean.output).toMatch(/1 passed/);
    expect(clean.code).toBe(0);
    const dirty = await runVitest({ PROBE_WRITE: '1' });
    expect(dirty.output).toContain(`added ${join(home, '.cache', 'icot', 'written-by-a-test')}`);
    expect(dirty.code).toBe(1);
  }, 120_000);
});

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitestBin = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

interface Report {
  readonly testResults: readonly { readonly assertionResults: readonly { readonly fullName: string; readonly status: string }[] }[];
}

/** Status of every test of the broken implementations (broken/*.suite.ts), by full name. */
function runBroken(): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ['VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'NODE_OPTIONS']) delete env[name];
    env['ICOT_BROKEN_SUITES'] = '1'; // never run this file again from inside that run
    const child = spawn(process.execPath, [vitestBin, 'run', '--config', 'vitest.broken.config.ts', '--reporter=json'], { cwd: root, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', () => {
      try {
        const report = JSON.parse(out.slice(out.indexOf('{'))) as Report;
        resolve(new Map(report.testResults.flatMap((file) => file.assertionResults.map((t) => [t.fullName, t.status] as const))));
      } catch (error) {
        reject(new Error(`no JSON report from the broken suites: ${(error as Error).message}\n${err.slice(-2000)}`));
      }
    });
  });
}

// Each broken implementation breaks one promise its declared capabilities make; the suite must
// fail the test of that promise (and nothing proves a suite can fail better than seeing it fail).
const expectations: readonly [suite: string, failing: RegExp, tests?: number][] = [
  ['broken: a fork is the session itself', /forks sessions/],
  ['broken: side runs extend the cache', /runs batched side runs/],
  ['broken: layer attention ignores the layers', /averaged over chosen layers/],
  ['broken: disposing a session frees its forks', /forks sessions/],
  ['broken: claims pixels it does not keep', /keeps the decoded image/],
  ['broken: claims tiled images', /tiles images|patch map/],
  ['broken: states a longer context than it has', /context length/],
  ['broken: runs share one count', /same way on the same tokens|state per run/, 5],
  ['broken: answers with numbers', /answers every token with a boolean/, 5],
  ['broken: reads a signal it does not declare', /declares itself|drives the loop/, 5],
];

describe.skipIf(process.env['ICOT_BROKEN_SUITES'] === '1')('the conformance suites catch broken implementations', () => {
  let results: Map<string, string>;
  beforeAll(async () => {
    results = await runBroken();
  }, 180_000);

  for (const [suite, failing, count = 11] of expectations)
    it(`fails "${suite}" on the broken promise, and passes what it does not break`, () => {
      const tests = [...results].filter(([name]) => name.includes(`conformance: ${suite} `));
      expect(tests.length).toBeGreaterThanOrEqual(count);
      const failed = tests.filter(([, status]) => status === 'failed').map(([name]) => name);
      expect(failed.length).toBeGreaterThan(0);
      for (const name of failed) expect(name).toMatch(failing);
    });
});

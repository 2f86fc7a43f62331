import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'icot-new-package-command-'));
  await writeFile(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  await writeFile(join(root, 'LICENSE'), 'MIT License\n');
  await mkdir(join(root, '.changeset'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function command(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(argv, { stdout, stderr }, root);
  return { code, stdout: out, stderr: err };
}

describe('new-package command', () => {
  it('prints its help with every kind and its suite', async () => {
    const { code, stdout } = await command('--help');
    expect(code).toBe(0);
    for (const word of ['selector', 'decoder', 'trigger', 'backend', 'describeTriggerConformance', 'describeModelConformance']) expect(stdout).toContain(word);
  });

  it.each([
    [[], /--kind is required/, /selector, decoder, trigger, backend/],
    [['--kind', 'sampler', '--name', 'x'], /Unknown kind 'sampler'/, /selector, decoder, trigger, backend/],
    [['--kind', 'selector'], /--name is required/, /top-attention/],
    [['--kind', 'selector', '--name', 'Top_Attention'], /not lower-case words joined by hyphens/, /top-attention/],
    [['--kind', 'selector', '--name', 'selector-top'], /repeats the kind/, /--name top/],
    [['--kind', 'selector', '--name', 'x', '--colour', 'red'], /Unknown option '--colour'/, /--help/],
    [['--kind', 'selector', '--name', 'x', '--description', ' '], /--description is empty/, /one sentence/],
  ])('refuses %j with exit 2, the problem and the fix', async (argv, problem, fix) => {
    const { code, stdout, stderr } = await command(...argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(problem);
    expect(stderr.split('\n').find((line) => line.startsWith('hint: '))).toMatch(fix);
  });

  it('writes the package, a changeset and the LICENSE, then prints the next steps', async () => {
    const { code, stdout } = await command('--kind', 'trigger', '--name', 'unsure-end', '--description', 'Fires where the model is unsure.');
    expect(code).toBe(0);
    const dir = join(root, 'packages', 'trigger-unsure-end');
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['name']).toBe('@icot/trigger-unsure-end');
    expect(manifest['description']).toBe('Fires where the model is unsure.');
    expect(manifest['exports']).toEqual({ '.': { '@icot/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' });
    expect(manifest['sideEffects']).toBe(false);
    const source = await readFile(join(dir, 'src', 'trigger.ts'), 'utf8');
    expect(source).toContain('export function createUnsureEndTrigger(');
    expect(source).not.toMatch(/__\w+__/);
    expect(await readFile(join(root, '.changeset', 'new-trigger-unsure-end.md'), 'utf8')).toContain('"@icot/trigger-unsure-end": minor');
    expect(await readFile(join(dir, 'LICENSE'), 'utf8')).toBe('MIT License\n');
    expect(stdout).toContain('packages/trigger-unsure-end/src/trigger.test.ts');
    expect(stdout).toContain('pnpm install');
    expect(stdout).toContain('cd packages/trigger-unsure-end && pnpm test');
  });

  it('refuses a folder that exists, and a folder that is not a workspace', async () => {
    expect((await command('--kind', 'trigger', '--name', 'unsure-end')).stderr).toMatch(/packages\/trigger-unsure-end exists already/);
    const elsewhere = await command('--kind', 'selector', '--name', 'x', '--root', tmpdir());
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/not the root of a pnpm workspace/);
  });
});

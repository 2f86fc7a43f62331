import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HELP } from '../src/main.js';
import { makeTinyModelCommand } from './helpers.js';

// Options and folder handling; nothing here runs a model (see acceptance.test.ts).

const root = await mkdtemp(join(tmpdir(), 'icot-make-tiny-model-options-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('make-tiny-model options', () => {
  it('--help prints the usage with every family on stdout', async () => {
    const { code, stdout, stderr } = await makeTinyModelCommand('--help');
    expect(code).toBe(0);
    expect(stdout).toBe(HELP);
    for (const family of ['qwen2-vl', 'qwen2.5-vl', 'llava', 'smolvlm', 'chameleon']) expect(stdout).toContain(family);
    expect(stderr).toBe('');
  });

  it('an unknown family exits 2 and lists the valid ones', async () => {
    const { code, stdout, stderr } = await makeTinyModelCommand('--family', 'qwen3-vl', '--out', join(root, 'x'));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain("Unknown family 'qwen3-vl'");
    expect(stderr).toContain('qwen2-vl, qwen2.5-vl, llava, smolvlm, chameleon');
  });

  it.each([
    [['--out', 'x'], '--family is required'],
    [['--family', 'llava'], '--out is required'],
    [['--family', 'llava', '--out', 'x', '--dtype', 'int3'], "Unknown dtype 'int3'"],
    [['--family', 'llava', '--out', 'x', '--seed=-1'], '--seed must be an integer >= 0'],
    [['--family', 'llava', '--out', 'x', '--seed', '1.5'], '--seed must be an integer >= 0'],
    [['--family', 'llava', '--out', 'x', '--backends', 'onnx,tf'], '--backends must list onnx and/or transformers'],
    [['--family', 'llava', '--out', 'x', '--colour', 'red'], "Unknown option '--colour'"],
  ])('bad options %j exit 2: %s', async (args, message) => {
    const { code, stderr } = await makeTinyModelCommand(...args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('hint:');
  });

  it('refuses a non-empty folder without --force (exit 2) and leaves it alone; refuses a file', async () => {
    const dir = join(root, 'busy');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const { code, stderr } = await makeTinyModelCommand('--family', 'chameleon', '--out', dir);
    expect(code).toBe(2);
    expect(stderr).toContain('is not empty');
    expect(stderr).toContain('--force');
    expect(await readdir(dir)).toEqual(['notes.txt']);
    const file = await makeTinyModelCommand('--family', 'chameleon', '--out', join(dir, 'notes.txt'));
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('is a file');
  });

  it('refuses to check a family on a backend that does not run it (transformers.js has no Chameleon)', async () => {
    const { code, stderr } = await makeTinyModelCommand('--family', 'chameleon', '--out', join(root, 'c'), '--backends', 'transformers');
    expect(code).toBe(2);
    expect(stderr).toContain('The transformers backend does not run chameleon models');
  });
});

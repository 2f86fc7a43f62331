import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyModel, fixturePath, loadOracle, replaceSoftmaxWithExpLogSoftmax } from '@icot/testing';
import { main } from '../src/main.js';

const oracle = loadOracle('tiny-qwen2-vl');
const model = fixturePath('tiny-qwen2-vl');
const image = fixturePath('tiny-qwen2-vl', 'image.png');

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    }),
    text: () => chunks.join(''),
  };
}

async function icot(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, interactive: false });
  return { code, stdout: out.text(), stderr: err.text() };
}

let dir: string;
let promptFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icot-cli-'));
  promptFile = join(dir, 'prompt.txt');
  await writeFile(promptFile, oracle.prompt_text);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const oracleArgs = () => [
  'run', '--model', model, '--image', image, '--raw-prompt-file', promptFile,
  '--signal-token-ids', oracle.signal_token_ids.join(','), '--every', String(oracle.every),
  '--max-insertions', String(oracle.max_insertions), '--k', String(oracle.k),
  '--max-new-tokens', String(oracle.max_new_tokens), '--greedy', '--json',
];

describe('icot run', () => {
  it('reproduces the reference ICoT run token for token and patch for patch (--json)', async () => {
    const { code, stdout } = await icot(...oracleArgs());
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!);
    expect(result.tokens).toEqual(oracle.tokens);
    expect(result.insertions.map((i: { step: number }) => i.step)).toEqual(oracle.events.map((e) => e.step));
    expect(result.insertions.map((i: { selected: number[] }) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
    // patch 0 of a 224x224 image with 8x8 merged patches is the 28x28 top-left square
    const first = result.insertions[0];
    expect(first.boxes[first.selected.indexOf(0)]).toEqual({ x: 0, y: 0, width: 28, height: 28 });
    expect(Object.keys(result.timings)).toEqual(expect.arrayContaining(['prefillMs', 'perTokenMs', 'totalMs']));
  });

  it('reproduces the reference run through the transformers.js backend (--backend transformers)', async () => {
    const { code, stdout, stderr } = await icot(...oracleArgs(), '--backend', 'transformers');
    expect(stderr).not.toMatch(/error/);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.tokens).toEqual(oracle.tokens);
    expect(result.insertions.map((i: { selected: number[] }) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
  });

  it('runs the KV-cache decoders (--decoder kv-copy | kv-rebind)', async () => {
    for (const decoder of ['kv-copy', 'kv-rebind']) {
      const { code, stdout } = await icot(...oracleArgs(), '--decoder', decoder);
      expect(code).toBe(0);
      const result = JSON.parse(stdout);
      expect(result.insertions).toHaveLength(3);
      expect(result.insertions[0].selected).toEqual(oracle.events[0]!.selected);
    }
  });

  it('reproduces plain greedy decoding with insertions off', async () => {
    const args = oracleArgs().map((a) => a);
    args[args.indexOf('--max-insertions') + 1] = '0';
    const { code, stdout } = await icot(...args);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).tokens).toEqual(oracle.plain_greedy_tokens);
  });

  it('runs the embedded demo model with no options and streams text with insertions marked', async () => {
    const { code, stdout, stderr } = await icot('run', '--max-new-tokens', '24');
    expect(code).toBe(0);
    expect(stderr).toMatch(/RANDOM weights/);
    expect(stdout).toMatch(/\[insertion 1 at step 6: 16 patches/);
  });

  it('writes a self-contained HTML report', async () => {
    const report = join(dir, 'report.html');
    const { code } = await icot(...oracleArgs(), '--report', report);
    expect(code).toBe(0);
    const html = await readFile(report, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('data:image/png;base64,');
    expect(html.match(/<rect class="cell"/g)!.length).toBe(3 * 64); // each insertion's heatmap: every patch of the 8 x 8 image
    expect(html.match(/<g class="outline" [^>]*>(<rect [^>]*>)*<\/g>/g)!.map((g) => g.match(/<rect /g)!.length)).toEqual([16, 16, 16]);
    expect(html).not.toMatch(/src="http/);
  });

  it('prints help', async () => {
    const { code, stdout } = await icot('run', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('--raw-prompt-file');
  });
});

describe('icot run on a Chameleon-class model', () => {
  const chameleon = loadOracle('tiny-chameleon');
  const args = async () => {
    const file = join(dir, 'chameleon-prompt.txt');
    await writeFile(file, chameleon.prompt_text);
    return [
      'run', '--model', fixturePath('tiny-chameleon'), '--image', fixturePath('tiny-chameleon', 'image.png'), '--raw-prompt-file', file,
      '--signal-token-ids', chameleon.signal_token_ids.join(','), '--every', String(chameleon.every), '--max-insertions', String(chameleon.max_insertions),
      '--k', String(chameleon.k), '--max-new-tokens', String(chameleon.max_new_tokens), '--greedy', '--insert-after-prompt', '--exclude-selected', '--json',
    ];
  };

  it('reproduces the reference tokens and selections, step -1 for the insertion after the prompt', async () => {
    const { code, stdout } = await icot(...(await args()));
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.family).toBe('chameleon');
    expect(result.tokens).toEqual(chameleon.tokens);
    expect(result.insertions.map((i: { step: number }) => i.step)).toEqual(chameleon.events.map((e) => e.step));
    expect(result.insertions.map((i: { selected: number[] }) => i.selected)).toEqual(chameleon.events.map((e) => e.selected));
  });

  it('uses the family defaults (after-prompt insertion, exclusion) and lets flags switch them off', async () => {
    const base = (await args()).filter((a) => a !== '--insert-after-prompt' && a !== '--exclude-selected');
    const defaults = JSON.parse((await icot(...base)).stdout);
    expect(defaults.tokens).toEqual(chameleon.tokens);
    const off = JSON.parse((await icot(...base, '--no-insert-after-prompt', '--no-exclude-selected')).stdout);
    expect(off.insertions[0].step).toBeGreaterThanOrEqual(0);
  });

  it('reproduces plain greedy decoding with insertions off', async () => {
    const { stdout } = await icot(...(await args()), '--no-insertions');
    expect(JSON.parse(stdout).tokens).toEqual(chameleon.plain_greedy_tokens);
  });

  it('takes a demo image referred to by the region syntax', async () => {
    const file = join(dir, 'demo-prompt.txt');
    await writeFile(file, `Look at <region image=2 rows=0-3 cols=0-3>: a red square.\n${chameleon.prompt_text}`);
    const a = await args();
    a[a.indexOf('--raw-prompt-file') + 1] = file;
    const { code, stdout } = await icot(...a, '--demo-image', fixturePath('tiny-chameleon', 'image.png'));
    expect(code).toBe(0);
    expect(JSON.parse(stdout).insertions.length).toBeGreaterThan(0);
  });
});

describe('icot run: bad input exits 2 with a clear message and no stack trace', () => {
  const expectUsageError = (r: { code: number; stderr: string }, pattern: RegExp) => {
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };

  it('unknown flag', async () => expectUsageError(await icot('run', '--frobnicate'), /Unknown option '--frobnicate'/));
  it('missing model folder', async () => expectUsageError(await icot('run', '--model', join(dir, 'nope'), '--image', image, '-q', 'hi'), /does not exist/));
  it('partial model folder', async () => {
    const copy = await copyModel('tiny-qwen2-vl');
    try {
      await rm(join(copy.dir, 'onnx', 'vision_encoder.onnx'));
      expectUsageError(await icot('run', '--model', copy.dir, '--image', image, '-q', 'hi'), /missing onnx\/vision_encoder\.onnx/);
    } finally {
      await copy.cleanup();
    }
  });
  it('decoder graph with no usable attention', async () => {
    const copy = await copyModel('tiny-qwen2-vl');
    try {
      await replaceSoftmaxWithExpLogSoftmax(join(copy.dir, 'onnx', 'decoder_model_merged.onnx'));
      expectUsageError(await icot('run', '--model', copy.dir, '--image', image, '-q', 'hi'), /Supported shapes: plain attention/);
    } finally {
      await copy.cleanup();
    }
  });
  it('unreadable image', async () => {
    const bad = join(dir, 'bad.png');
    await writeFile(bad, 'not an image');
    expectUsageError(await icot('run', '--model', model, '--image', bad, '-q', 'hi'), /bad\.png/);
    expectUsageError(await icot('run', '--model', model, '--image', join(dir, 'missing.png'), '-q', 'hi'), /missing\.png/);
  });
  it('image above --max-image-pixels (checked from the header, before decoding)', async () => {
    expectUsageError(await icot('run', '--model', model, '--image', image, '-q', 'hi', '--max-image-pixels', '50000'), /224x224 = 50,176 pixels, more than the limit of 50,000/);
    expectUsageError(await icot('run', '--max-image-pixels', '0'), /--max-image-pixels must be an integer >= 1/);
    expectUsageError(await icot('run', '--alpha', 'white'), /alpha/);
  });
  it('k larger than the image', async () =>
    expectUsageError(await icot('run', '--model', model, '--image', image, '-q', 'hi', '--k', '65'), /k = 65 is larger than the query image's 64 patches/));
  it('prompt with no image placeholder', async () => {
    const file = join(dir, 'no-image.txt');
    await writeFile(file, '<|im_start|>user\nWhat is this?<|im_end|>\n<|im_start|>assistant\n');
    expectUsageError(await icot('run', '--model', model, '--image', image, '--raw-prompt-file', file), /no image placeholder/);
  });
  it('a decoder with no usable attention still runs with --selector random', async () => {
    const copy = await copyModel('tiny-qwen2-vl');
    try {
      await replaceSoftmaxWithExpLogSoftmax(join(copy.dir, 'onnx', 'decoder_model_merged.onnx'));
      const r = await icot('run', '--model', copy.dir, '--image', image, '-q', 'hi', '--selector', 'random', '--signal-token-ids', '64', '--max-new-tokens', '24', '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).insertions.length).toBeGreaterThan(0);
    } finally {
      await copy.cleanup();
    }
  });
  it('bad option values', async () => {
    expectUsageError(await icot('run', '--k', 'abc'), /--k must be an integer/);
    expectUsageError(await icot('run', '--top-p', '0.9'), /only apply when sampling/);
    expectUsageError(await icot('run', '--selector', 'magic'), /--selector 'magic' is not supported/);
  });

  it('as a real process: exit code 2 and no stack trace', () => {
    const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--conditions=@icot/source', '--import', 'tsx', bin, 'run', '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/error: Unknown option '--bogus'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICOT_FROM_SOURCES, runProcess, type Finished } from './helpers/processes.js';
import { demoModel } from '@icot/demo-model';
import { writeTinyChameleon } from '@icot/testing/models';

// The command as people type it, as real processes: from folders of the checkout, in pipelines,
// with bad values. `node --import tsx src/bin.ts` runs the sources; the pnpm cases run the
// workspace's wrapper (which builds first, then runs dist/bin.js).

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cliDir = fileURLToPath(new URL('../', import.meta.url));

/** Run `command` to its end in `cwd` (default the checkout's root). */
const run = (command: readonly string[], cwd: string = root, env: NodeJS.ProcessEnv = process.env): Promise<Finished> => runProcess(command, cwd, env);

const icot = (...args: string[]): Promise<Finished> => run([...ICOT_FROM_SOURCES, ...args]);

let scratch: string; // a folder of the checkout that is not a package
let inPackage: string; // a folder inside the CLI's package
beforeAll(async () => {
  scratch = await mkdtemp(join(root, '.tmp-cli-test-'));
  inPackage = await mkdtemp(join(cliDir, '.tmp-cli-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
  await rm(inPackage, { recursive: true, force: true });
});

describe('pnpm --silent icot from any folder of the checkout: relative paths mean the folder typed in', () => {
  for (const [where, folder] of [
    ['a folder that is not a package', () => scratch],
    ['a package folder (no icot script there: the root bin of tools/workspace-commands)', () => inPackage],
  ] as const) {
    it(`${where}: --image <relative> --report <relative> writes the report there`, async () => {
      const cwd = folder();
      await mkdir(join(cwd, 'out'), { recursive: true });
      const r = await run(['pnpm', '--silent', 'icot', 'run', '--quiet', '--max-new-tokens', '8', '--image', relative(cwd, demoModel.image), '--report', 'out/report.html'], cwd);
      expect(r.stderr.replace(/^icot: (building|built) .*\n/gm, '')).toBe(''); // a build notice when the build took a while
      expect(r.code).toBe(0);
      expect(readFileSync(join(cwd, 'out', 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
      expect(existsSync(join(root, 'out', 'report.html'))).toBe(false);
    }, 240_000); // the first pnpm call builds what changed
  }

  it('a build that takes a while says so on stderr, stdout stays the program\'s', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'run-built.mjs'), '@icot/cli', 'apps/cli/dist/bin.js', '--version'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ICOT_BUILD_NOTICE_MS: '0' }, // announce even an up-to-date build
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^icot: building @icot\/cli and the workspace packages it uses/m);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  }, 240_000);
});

describe('icot run in a pipeline', () => {
  it('| head -c 1: a closed stdout ends the run quietly (exit 0, no EPIPE trace)', async () => {
    const command = `set -o pipefail; ${ICOT_FROM_SOURCES.map((a) => `'${a}'`).join(' ')} run --quiet --max-new-tokens 128 | head -c 1 >/dev/null`;
    const r = await run(['bash', '-c', command]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  it('the streamed text carries no raw control bytes (the demo model writes NUL and others)', async () => {
    const r = await icot('run', '--quiet', '--max-new-tokens', '64');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/); // eslint-disable-line no-control-regex
    // the same run in JSON keeps the exact text: the controls are there, escaped by JSON
    const json = await icot('run', '--quiet', '--max-new-tokens', '64', '--json');
    expect(JSON.parse(json.stdout).text).toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/); // eslint-disable-line no-control-regex
  }, 120_000);
});

describe('icot run --json', () => {
  it('carries schemaVersion, the trigger and why, the settings, and what reproduces the run', async () => {
    const r = await icot('run', '--quiet', '--max-new-tokens', '24', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schemaVersion).toBe(1);
    expect(doc.trigger).toEqual({ name: 'signal', signal: 'token-ids', tokenIds: demoModel.signalTokenIds, every: 2, options: null, reason: expect.stringMatching(/demo model/) });
    expect(doc.settings).toMatchObject({ k: 16, maxInsertions: 3, maxNewTokens: 24 });
    expect(doc.warnings).toEqual([]);
    // each insertion's whole attention row over the query image, and the image's patch boxes to draw it on
    expect(doc.queryImage.patchBoxes).toHaveLength(64);
    for (const insertion of doc.insertions) {
      expect(insertion.attention).toHaveLength(64);
      expect(insertion.scores).toEqual(insertion.selected.map((p: number) => insertion.attention[p]));
    }
    const { reproduce } = doc;
    expect(reproduce.run.model.source).toBe(demoModel.dir);
    expect(reproduce.run.images).toEqual([{ path: demoModel.image }]);
    expect(reproduce.seed).toBe(0);
    expect(reproduce.versions.packages['@icot/core']).toMatch(/^\d+\.\d+\.\d+/);
    expect(reproduce.versions.packages['@icot/runner']).toMatch(/^\d+\.\d+\.\d+/);
    const files = reproduce.modelFiles.map((f: { path: string }) => f.path);
    expect(files).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'onnx/decoder_model_merged.onnx']));
    for (const f of reproduce.modelFiles) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(reproduce.images[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 120_000);

  it('says when a run ends with no insertion because the signal never appeared', async () => {
    const r = await icot('run', '--max-new-tokens', '12', '--signal', 'newline', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/icot: trigger: signal = line breaks, every 2nd one, at most 3 insertions \(given: --signal newline\)/);
    expect(r.stderr).toMatch(/icot: warning: no insertion: the signal \(a line break\) never appeared in the 12 generated tokens/);
    const doc = JSON.parse(r.stdout);
    expect(doc.insertions).toEqual([]);
    expect(doc.warnings.map((w: { code: string }) => w.code)).toEqual(['no-signal']);
  }, 120_000);
});

describe('the model\'s context limit', () => {
  it('--max-new-tokens past it: the run stops at the limit and says so', async () => {
    // the demo model (which does not stop by itself) with a context of 200 tokens instead of 4,096
    const model = join(scratch, 'short-context');
    await cp(demoModel.dir, model, { recursive: true });
    const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'));
    await writeFile(join(model, 'config.json'), JSON.stringify({ ...config, max_position_embeddings: 200 }));
    const r = await icot('run', '--model', model, '--image', demoModel.image, '-q', demoModel.question, '--signal-token-ids', '64', '--max-new-tokens', '500', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.finishReason).toBe('context-limit');
    expect(doc.usage.promptTokens + doc.usage.generatedTokens + doc.usage.insertedTokens).toBe(200);
    expect(doc.warnings.map((w: { code: string }) => w.code)).toContain('context-limit');
    expect(r.stderr).toMatch(/icot: warning: stopped at the model's context limit of 200 tokens \(prompt \d+ \+ generated \d+ \+ inserted \d+\)/);
  }, 120_000);
});

describe('bad input: exit 2, a clear message, nothing loaded, and the JSON error under --json', () => {
  const cases: readonly (readonly [string, readonly string[], RegExp])[] = [
    ['--report into a missing folder', ['run', '--report', 'no/such/folder/report.html'], /--report no\/such\/folder\/report.html: the folder .* does not exist/],
    ['--report naming a folder', ['run', '--report', '.'], /--report \. is a folder; it needs a file name/],
    ['--report ""', ['run', '--report', ''], /--report needs a value, got an empty string/],
    ['-q ""', ['run', '-q', ''], /--question needs a value, got an empty string/],
    ['--k -1 (a negative number, not a flag)', ['run', '--k', '-1'], /--k must be an integer >= 1, got '-1'/],
    ['--temperature -1', ['run', '--temperature', '-1'], /--temperature must be a number > 0, got '-1'/],
    ['an unknown help topic', ['help', 'frobnicate'], /There is no help on 'frobnicate'/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await icot(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/loading|at .*\.ts:\d+/); // checked before loading; no stack trace
      expect(r.stdout).toBe('');
    }, 60_000);
  }

  it('errors found once the model is known: out-of-vocabulary signal ids, a malformed region tag, a family the backend does not run', async () => {
    const oov = await icot('run', '--signal-token-ids', '64,999999', '--max-new-tokens', '4');
    expect(oov.code).toBe(2);
    expect(oov.stderr).toMatch(/999999/);
    expect(oov.stderr).toMatch(/vocabulary/);
    const region = await icot('run', '--image', demoModel.image, '--model', demoModel.dir, '-q', 'Compare <region image=2 rows=0-1> with the picture.', '--max-new-tokens', '4');
    expect(region.code).toBe(2);
    expect(region.stderr).toMatch(/<region image=2 rows=0-1>/);
    const chameleon = join(scratch, 'chameleon');
    await writeTinyChameleon(chameleon);
    const transformers = await icot('run', '--backend', 'transformers', '--model', chameleon, '--image', demoModel.image, '-q', 'hi');
    expect(transformers.code).toBe(2);
    expect(transformers.stderr).toMatch(/Chameleon/);
    expect(transformers.stderr).toMatch(/--backend onnx/);
    expect(transformers.stderr).not.toMatch(/missing/);
  }, 120_000);

  it('under --json the error is {"schemaVersion", "error": {"code", "message", "hint"}} on stdout', async () => {
    const r = await icot('run', '--json', '--report', 'no/such/folder/report.html');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      schemaVersion: 1,
      error: { code: 'invalid-option', message: expect.stringMatching(/the folder .* does not exist/), hint: expect.stringMatching(/mkdir -p/) },
    });
    const missing = await icot('run', '--json', '--model', join(scratch, 'nope'), '--image', demoModel.image, '-q', 'hi');
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'model-files', message: expect.stringMatching(/does not exist/) });
  }, 60_000);
});

describe('every strategy on the embedded demo model (icot run --greedy --json)', () => {
  const insertions = (stdout: string) =>
    (JSON.parse(stdout) as { insertions: { step: number; selector: string; fallback?: unknown; selected: number[] }[] }).insertions;

  for (const selector of ['ads', 'random', 'grounding', 'segmentation', 'info-gain']) {
    it(`--selector ${selector}: an insertion chosen by ${selector} with no fallback, the same twice`, async () => {
      const [first, second] = await Promise.all([icot('run', '--selector', selector, '--greedy', '--json', '--quiet'), icot('run', '--selector', selector, '--greedy', '--json', '--quiet')]);
      expect(first.code).toBe(0);
      const chosen = insertions(first.stdout).filter((i) => i.selector === selector && i.fallback === undefined);
      expect(chosen.length).toBeGreaterThan(0);
      expect(JSON.parse(second.stdout).tokens).toEqual(JSON.parse(first.stdout).tokens);
      expect(insertions(second.stdout)).toEqual(insertions(first.stdout));
    }, 120_000);
  }

  for (const trigger of ['attention-shift', 'probability-gap']) {
    it(`--trigger ${trigger}: at least one insertion with its demo settings, the same twice, and the run names its trigger`, async () => {
      const [first, second] = await Promise.all([icot('run', '--trigger', trigger, '--greedy', '--json'), icot('run', '--trigger', trigger, '--greedy', '--json', '--quiet')]);
      expect(first.code).toBe(0);
      const doc = JSON.parse(first.stdout);
      expect(doc.trigger).toMatchObject({ name: trigger, tokenIds: null, reason: expect.stringMatching(/demo settings/) });
      expect(first.stderr).toMatch(new RegExp(`icot: trigger: ${trigger} \\{`));
      expect(doc.insertions.filter((i: { step: number }) => i.step >= 0).length).toBeGreaterThan(0);
      expect(insertions(second.stdout).map((i) => [i.step, i.selected])).toEqual(insertions(first.stdout).map((i) => [i.step, i.selected]));
    }, 120_000);
  }

  it('strategy options: --selector-option / --trigger-option reach the strategy, and bad ones exit 2', async () => {
    const run = await icot('run', '--selector', 'segmentation', '--selector-option', 'segments=16', '--trigger', 'probability-gap', '--trigger-option', 'threshold=0.9', '--trigger-option', 'sentenceEnd={"tokenIds":[64]}', '--greedy', '--json', '--quiet');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).trigger.options).toEqual({ threshold: 0.9, sentenceEnd: { tokenIds: [64] } });
    expect(JSON.parse(run.stdout).reproduce.run.selector).toEqual({ name: 'segmentation', options: { segments: 16 } });
    const unknown = await icot('run', '--selector', 'segmentation', '--selector-option', 'nSegments=16');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/nSegments/);
    const mixed = await icot('run', '--trigger', 'attention-shift', '--every', '3');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/set the signal trigger, not attention-shift/);
  }, 120_000);
});

import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { main as icot } from '@icot/cli';
import { AbortedError, IcotError, OptionError } from '@icot/core';
import { encodePng } from '@icot/image';
import type { WeightDtype } from '@icot/testing/models';
import { TINY_FAMILIES, type BackendName, type TinyFamilyName } from './families.js';
import { drawDemoImage } from './image.js';
import { chooseSignalTokens } from './signal.js';

/** The question of every demo: a user question the family's chat format is applied to by `icot run --question`. */
export const DEMO_QUESTION = 'What is in the picture? Think step by step.';
/** `--max-new-tokens` of the demo run. */
export const DEMO_MAX_NEW_TOKENS = 48;
/** `--every` of the demo run: `icot run`'s default, so the demo command does not pass it. */
export const DEMO_EVERY = 2;
/** Name of the demo description written into the folder. */
export const DEMO_FILE = 'icot-demo.json';
/** Name of the demo image written into the folder. */
export const DEMO_IMAGE = 'image.png';

/** `icot-demo.json`: what to pass to `icot run` so a greedy run inserts at a generated step. */
export interface TinyModelDemo {
  /** `--signal-token-ids`. */
  readonly signalTokenIds: readonly number[];
  /** `--question` (a user question; `icot run` applies the family's chat format). */
  readonly question: string;
  readonly family: TinyFamilyName;
  /** The image, relative to the folder. */
  readonly image: string;
  readonly seed: number;
  /** Weight variant of the graphs (`--dtype` of `icot run` unless fp32). */
  readonly dtype: WeightDtype;
  readonly maxNewTokens: number;
  readonly every: number;
  /** Steps of the insertions of the checked greedy run, per backend (-1: after the prompt). */
  readonly insertionSteps: Partial<Record<BackendName, readonly number[]>>;
}

/** Options of {@link makeTinyModel}. */
export interface MakeTinyModelOptions {
  readonly family: TinyFamilyName;
  /** The folder to write (made if missing; resolved against the current directory). */
  readonly out: string;
  /** Seed of the random weights (default 1). */
  readonly seed?: number;
  /** Weight variant (default fp32). */
  readonly dtype?: WeightDtype;
  /** Overwrite the model files of a non-empty folder (other files are left alone). */
  readonly force?: boolean;
  /** Backends the demo run is checked on (default every backend that runs the family). */
  readonly backends?: readonly BackendName[];
  /** Progress lines (no newline). */
  readonly onProgress?: (line: string) => void;
  /** Cancels the runs in progress (`icot run` then ends with exit 130 and this rejects with `AbortedError`). */
  readonly signal?: AbortSignal;
}

/** What {@link makeTinyModel} wrote. */
export interface MadeTinyModel {
  /** Absolute path of the folder. */
  readonly dir: string;
  readonly demo: TinyModelDemo;
}

/** Files and folders the command writes into a model folder (what `--force` replaces). */
const WRITTEN = ['onnx', 'config.json', 'generation_config.json', 'preprocessor_config.json', 'processor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'chat_template.json', DEMO_IMAGE, DEMO_FILE];

/** Arguments of `icot` for the demo run on `backend` (without `--json`; no signal ids: the default newline signal). */
export function demoRunArguments(dir: string, demo: Pick<TinyModelDemo, 'signalTokenIds' | 'question' | 'dtype' | 'image'>, backend: BackendName = 'onnx'): string[] {
  return [
    'run',
    '--model', dir,
    '--image', join(dir, demo.image),
    '--question', demo.question,
    ...(demo.signalTokenIds.length ? ['--signal-token-ids', demo.signalTokenIds.join(',')] : []),
    '--greedy',
    '--max-new-tokens', String(DEMO_MAX_NEW_TOKENS),
    ...(demo.dtype === 'fp32' ? [] : ['--dtype', demo.dtype]),
    ...(backend === 'onnx' ? [] : ['--backend', backend]),
  ];
}

/** `args` as one shell command line (words quoted where needed), to show to users. */
export function shellCommand(args: readonly string[]): string {
  return args.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** What `icot run --json` prints (the fields used here). */
export interface IcotRunJson {
  readonly family: string;
  readonly tokens: readonly number[];
  readonly text: string;
  readonly finishReason: string;
  readonly insertions: readonly { readonly step: number; readonly selected: readonly number[] }[];
}

function collector(): { readonly stream: Writable; text(): string } {
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

/**
 * Run `icot` with `--json --quiet` through the command's own code (in this process; the model runs
 * in its child process, as for `icot run`). A failure names the written folder and what icot said.
 */
async function icotJson(args: readonly string[], dir: string, signal: AbortSignal | undefined): Promise<IcotRunJson> {
  const stdout = collector();
  const stderr = collector();
  const code = await icot([...args, '--json', '--quiet'], { stdout: stdout.stream, stderr: stderr.stream, interactive: false, ...(signal ? { signal } : {}) });
  if (code === 130) throw new AbortedError('Cancelled while running icot.');
  if (code !== 0)
    throw new IcotError('internal', `The model folder ${dir} is written, but icot failed on it (exit code ${code}):\n  ${shellCommand(['icot', ...args])}\n${stderr.text().trim()}`, {
      hint: 'A family whose folders the backends cannot load yet fails here; the folder itself is complete.',
    });
  return JSON.parse(stdout.text()) as IcotRunJson;
}

async function prepareFolder(dir: string, force: boolean): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new OptionError(`${dir} is a file, not a folder.`, { hint: 'Pass a new or empty folder with --out.' });
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true });
    return;
  }
  if (entries.length === 0) return;
  if (!force) throw new OptionError(`The folder ${dir} is not empty.`, { hint: 'Pass a new or empty folder with --out, or add --force to overwrite the model files in it.' });
  for (const name of WRITTEN) await rm(join(dir, name), { recursive: true, force: true });
}

/**
 * Write a tiny random-weight model of `family` into `out` (the `@icot/testing` builder), a demo
 * image (`image.png`) and `icot-demo.json` with a question and signal token ids chosen so that
 * `icot run --model out --image out/image.png --question Q --signal-token-ids IDS --greedy
 * --max-new-tokens 48` inserts at a generated step. The ids come from running that very command
 * (through `icot`'s own code): first with a trigger that never fires at a generated step (`--every`
 * above the token budget; the family's insertion after the prompt still happens), so its tokens are
 * those of the demo run up to its first generated-step insertion; ids occurring `every` times there
 * are chosen ({@link chooseSignalTokens}); then the demo command runs on each backend of the family
 * and must insert at a step >= 0, or this fails.
 */
export async function makeTinyModel(options: MakeTinyModelOptions): Promise<MadeTinyModel> {
  const family = TINY_FAMILIES[options.family];
  if (!family) throw new OptionError(`Unknown family '${String(options.family)}'.`, { hint: `Use one of: ${Object.keys(TINY_FAMILIES).join(', ')}.` });
  const seed = options.seed ?? 1;
  const dtype = options.dtype ?? 'fp32';
  const backends = options.backends ?? family.backends;
  const unsupported = backends.filter((b) => !(family.backends as readonly BackendName[]).includes(b));
  if (unsupported.length) throw new OptionError(`The ${unsupported.join(', ')} backend does not run ${options.family} models.`, { hint: `Check on ${family.backends.join(', ')}.` });
  const progress = options.onProgress ?? (() => {});
  const dir = resolve(options.out);
  await prepareFolder(dir, options.force ?? false);

  progress(`make-tiny-model: writing a tiny ${options.family} model (seed ${seed}, ${dtype}) to ${dir}`);
  await family.write(dir, { seed, dtype });
  await writeFile(join(dir, DEMO_IMAGE), encodePng(drawDemoImage(family.image.width, family.image.height)));

  const base = { question: DEMO_QUESTION, dtype, image: DEMO_IMAGE };
  // The demo command without signal ids and with a trigger that cannot fire within the token budget.
  progress('make-tiny-model: greedy run without insertions at generated steps, to choose the signal tokens');
  const probe = await icotJson([...demoRunArguments(dir, { ...base, signalTokenIds: [] }), '--every', String(DEMO_MAX_NEW_TOKENS + 1)], dir, options.signal);
  if (probe.insertions.some((i) => i.step >= 0)) throw new IcotError('internal', `The run without signals inserted at step ${probe.insertions.find((i) => i.step >= 0)!.step}.`);
  const choice = chooseSignalTokens(probe.tokens, { endedWithEos: probe.finishReason === 'eos', maxNewTokens: DEMO_MAX_NEW_TOKENS, every: DEMO_EVERY });
  if (!choice)
    throw new IcotError('internal', `The greedy answer of this ${options.family} model (seed ${seed}) has fewer than ${DEMO_EVERY} tokens that could signal (${probe.tokens.length} tokens, ${probe.finishReason}).`, {
      hint: 'Try another --seed.',
    });
  progress(`make-tiny-model: signal token ids ${choice.tokenIds.join(',')} (${choice.occurrences} times; the trigger fires first at step ${choice.firstInsertionStep})`);

  const insertionSteps: Partial<Record<BackendName, readonly number[]>> = {};
  for (const backend of backends) {
    const run = await icotJson(demoRunArguments(dir, { ...base, signalTokenIds: choice.tokenIds }, backend), dir, options.signal);
    const steps = run.insertions.map((i) => i.step);
    if (!steps.some((s) => s >= 0))
      throw new IcotError('internal', `The demo run on the ${backend} backend inserted at no generated step (insertions at steps [${steps.join(', ')}]; signal token ids ${choice.tokenIds.join(',')}).`, {
        hint: backend === 'onnx' ? 'This is a bug in make-tiny-model or a nondeterministic run; try another --seed and report it.' : `The ${backend} backend decodes differently from the onnx backend; check it on this folder, or pass --backends onnx.`,
      });
    if (backend === 'onnx') {
      const same = choice.firstInsertionStep + 1;
      if (run.tokens.slice(0, same).some((t, i) => t !== probe.tokens[i]))
        throw new IcotError('internal', 'The demo run differs from the run without signals before its first insertion: greedy decoding is not deterministic here.');
    }
    insertionSteps[backend] = steps;
    progress(`make-tiny-model: checked on ${backend}: ${steps.length} insertions, at steps ${steps.join(', ')}`);
  }

  const demo: TinyModelDemo = {
    signalTokenIds: choice.tokenIds,
    question: DEMO_QUESTION,
    family: options.family,
    image: DEMO_IMAGE,
    seed,
    dtype,
    maxNewTokens: DEMO_MAX_NEW_TOKENS,
    every: DEMO_EVERY,
    insertionSteps,
  };
  await writeFile(join(dir, DEMO_FILE), `${JSON.stringify(demo, null, 2)}\n`);
  return { dir, demo };
}

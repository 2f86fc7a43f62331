/**
 * `icot eval run`: a method (No-CoT, CoT, CCoT, DDCoT, ICoT) over a dataset split, one model load
 * for all samples (a `ChildRunner`), one JSON line per finished sample appended and flushed, resumable
 * after any interruption, sharded by option or by the scheduler.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { IcotError, JSON_SCHEMA_VERSION, OptionError, type IcotErrorCode } from '@icot/core';
import { demoModel } from '@icot/demo-model';
import {
  DATASET_NAMES,
  EVAL_METHODS,
  EXTRACTORS,
  ICOT_DEMONSTRATION,
  MissingImageError,
  PROMPT_STYLES,
  demonstrationRegions,
  diffConfigurations,
  extractAnswer,
  numpyMean,
  parseShard,
  rougeL,
  runMethod,
  selectSamples,
  shardFileNames,
  shardFromEnvironment,
  shortValue,
  stageSeed,
  type DatasetName,
  type EvalMethod,
  type EvalSample,
  type Extractor,
  type GridRegion,
  type MethodSettings,
  type PromptStyle,
  type ResolvedShard,
  type StagePrompt,
} from '@icot/eval';
import { ResultsFile, hashFile, loadLlavaBench, loadM3CoT, loadScienceQA, readJsonIfPresent, writeJsonAtomic, type ResultRecord } from '@icot/eval/node';
import { ChildRunner, type RunDescription, type RunEvent, type RunOutcome } from '@icot/runner';
import { parseRunOptions, type RunOptions } from '../options.js';
import { createDownloadProgress, formatDuration } from '../progress.js';
import { describeRun, describeTrigger, type CommandIo } from '../run.js';
import { icotPackageVersions } from '../versions.js';

/** Help of `icot eval run`. */
export const EVAL_RUN_HELP = `Usage: icot eval run --dataset <name> --data <dir> --method <method> --out <dir> [options]

Run a method over a dataset split with one model (loaded once, in a child process), appending one
JSON line per finished sample to <out>/results.jsonl (flushed to disk before the next sample).
Rerunning the same command resumes: finished samples are skipped, a line cut short by a crash is
repaired, samples that failed are retried. Progress and ETA on stderr.

Data and method
  --dataset m3cot|scienceqa|llava-w
  --data <dir>              the dataset in its published layout (icot eval score --help)
  --split <name>            m3cot / scienceqa split (default test); ScienceQA: its questions with an image
  --method <method>         no-cot | cot (text CoT, Multimodal-CoT) | ccot (scene graph first) |
                            ddcot (sub-questions answered by the same VLM) | icot (the paper's)
  --shots 0|1               1: ICoT's demonstration (M3CoT physical-commonsense-1426) before the
                            query; for icot with its three steps interleaved with image regions
  --demo-image <file>       the demonstration's image (default <data>/images/physical-commonsense-1426.png
                            for m3cot; needed with --shots 1 on scienceqa and llava-w)
  --preset <name>           official-qwen2-vl: temperature 0.8, top-p 0.9, 128 new tokens, signal
                            token 198 every 2nd, 3 insertions, k 16, chat prompts (ICoT's qwen2_vl/);
                            official-chameleon: temperature 0.7, top-p 0.9, repetition penalty 1.2,
                            512 new tokens, signal token 16397 every 2nd, no insertion limit, k 64,
                            chameleon prompts (ICoT's run.py). Options given win over the preset.
  --prompt-style auto|chat|chameleon
                            prompts as ICoT's Qwen2-VL code (chat) or its Chameleon code (chameleon);
                            auto (default): chameleon for Chameleon-class models, else chat
  --context auto|include|omit
                            write a question's context (M3CoT context, ScienceQA hint) into the
                            prompt; auto (default): omit for m3cot (as ICoT's run.py), include for scienceqa
  --extractor m3cot|icot    the judge_answer copy that scores multiple choice (default m3cot)

Which samples
  --limit <n>               the first n samples of the split (after --ids)
  --ids <a,b,...>           only these sample ids
  --shard <i/n>             shard i of n (0 <= i < n): the samples whose index in the split is i mod n;
                            writes results-<i>-of-<n>.jsonl and run-<i>-of-<n>.json
  --shard auto              the shard from a Slurm job array (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN
                            of SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX
                            of --shard-count)
  --shard-count <n>         the number of shards of an Indexed Job (its completions)

Output
  --out <dir>               the run folder (created if needed): results, run.json with the configuration
  --json                    print a summary as JSON on stdout at the end
  --quiet                   no progress on stderr

Model and strategies: every option of icot run (--model, --backend, --dtype, --selector, --k,
--decoder, --trigger, --signal, --every, --max-insertions, --max-new-tokens, --temperature, --seed ...;
icot run --help). Insertions are on for --method icot (default 3), off for the others unless
--max-insertions is given; they apply to the stage that writes the answer (CCoT's answer stage,
DDCoT's integration). Sampling is seeded per sample and stage from --seed.

A resumed run must have the configuration its run file records (model files, options, versions);
a different one is refused (exit 2) naming the fields; --limit and --ids may change. A sample that
fails is written as {"id", "error"} and the run goes on (5 failures in a row stop it); the next run
retries it. Exit 0 when every selected sample has a line, 2 on bad input, 130 when cancelled.
`;

const SPEC = {
  dataset: { type: 'string' },
  data: { type: 'string' },
  split: { type: 'string' },
  method: { type: 'string' },
  shots: { type: 'string' },
  out: { type: 'string' },
  limit: { type: 'string' },
  ids: { type: 'string' },
  shard: { type: 'string' },
  'shard-count': { type: 'string' },
  preset: { type: 'string' },
  'prompt-style': { type: 'string' },
  context: { type: 'string' },
  extractor: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** icot run options that make no sense per dataset sample. */
const NOT_FOR_EVAL: Readonly<Record<string, string>> = {
  image: 'the images are the dataset\'s',
  question: 'the questions are the dataset\'s',
  q: 'the questions are the dataset\'s',
  'raw-prompt-file': 'the prompts are the method\'s',
  report: 'icot eval report <out> reports on the run',
};

/** A backbone's sampling and ICoT settings as ICoT's code runs them. */
interface Preset {
  readonly style: PromptStyle;
  readonly temperature: number;
  readonly topP: number;
  readonly repetitionPenalty?: number;
  readonly maxNewTokens: number;
  readonly signalTokenIds: readonly number[];
  readonly every: number;
  readonly k: number;
  /** ICoT's insertions per answer; `unlimited`: no limit (as many as tokens). */
  readonly maxInsertions: number | 'unlimited';
}

/**
 * The presets: jungao1106/ICoT `qwen2_vl/icot_qwen_utils.py` (`generation_config`: do_sample,
 * temperature 0.8, top_p 0.9, max_new_tokens 128) and `icot_qwen_model.py` (token 198, every 2nd,
 * at most 3 insertions, top-16); `run.py` (do_sample, temperature 0.7, top_p 0.9,
 * repetition_penalty 1.2, min_new_tokens 32, max_new_tokens 512; token 16397 every 2nd with no
 * limit, 64 patches). icot's loop has no minimum length: `min_new_tokens` is not applied.
 */
export const EVAL_PRESETS: Readonly<Record<string, Preset>> = {
  'official-qwen2-vl': { style: 'chat', temperature: 0.8, topP: 0.9, maxNewTokens: 128, signalTokenIds: [198], every: 2, k: 16, maxInsertions: 3 },
  'official-chameleon': { style: 'chameleon', temperature: 0.7, topP: 0.9, repetitionPenalty: 1.2, maxNewTokens: 512, signalTokenIds: [16397], every: 2, k: 64, maxInsertions: 'unlimited' },
};

/** Error codes that stop a run (the model or the options are wrong, or it was cancelled); others fail one sample. */
const FATAL: ReadonlySet<IcotErrorCode> = new Set(['model-files', 'model-config', 'attention-unavailable', 'capability-unavailable', 'invalid-option', 'network', 'aborted']);
/** Failed samples in a row that stop a run (the model, not a sample, is the problem). */
const MAX_FAILURES_IN_A_ROW = 5;
/** Fields of a run file that do not decide what a sample's line holds. */
const NOT_CONFIGURATION = ['createdAt', 'updatedAt', 'shard', 'limit', 'ids', 'data', 'versions.node', 'versions.platform', 'modelFolder', 'description.model.source', 'description.model.cacheDir', 'description.model.threads', 'description.model.offline'];
/** Fields known only once the model is loaded. */
const AFTER_LOAD = ['modelFiles', 'description.evaluation.promptStyle', 'description.evaluation.demonstrationRegions', 'description.evaluation.regionFrame'];
const RUN_FILE_NAME = /^run(?:-(\d+)-of-(\d+))?\.json$/;

interface EvalRunOptions {
  readonly dataset: DatasetName;
  readonly data: string;
  readonly split: string | undefined;
  readonly method: EvalMethod;
  readonly shots: 0 | 1;
  readonly out: string;
  readonly limit: number | undefined;
  readonly ids: readonly string[] | undefined;
  readonly shard: ResolvedShard | undefined;
  readonly preset: string | undefined;
  readonly promptStyle: PromptStyle | 'auto';
  readonly context: 'auto' | 'include' | 'omit';
  readonly extractor: Extractor;
  readonly run: RunOptions;
  /** Whether --max-insertions / --no-insertions was given. */
  readonly insertionsGiven: boolean;
}

const HELP_HINT = "Run 'icot eval run --help' for the options.";

function given(args: readonly string[], ...names: string[]): boolean {
  return args.some((a) => names.some((name) => a === `--${name}` || a.startsWith(`--${name}=`) || (name.length === 1 && a === `-${name}`)));
}

/** The eval options and the icot run options, apart (`--name value` and `--name=value`). */
function splitArgs(args: readonly string[]): { evalArgs: string[]; runArgs: string[] } {
  const evalArgs: string[] = [];
  const runArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0]! : arg === '-h' ? 'help' : undefined;
    const spec = name !== undefined ? (SPEC as Record<string, { type: string }>)[name] : undefined;
    if (!spec) {
      runArgs.push(arg);
      continue;
    }
    evalArgs.push(arg);
    if (spec.type === 'string' && !arg.includes('=') && i + 1 < args.length) evalArgs.push(args[++i]!);
  }
  return { evalArgs, runArgs };
}

function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 1) throw new OptionError(`--${flag} must be an integer >= 1, got '${text}'.`, { hint: HELP_HINT });
  return n;
}

function choice<T extends string>(flag: string, text: string | undefined, allowed: readonly T[], fallback: T | undefined): T | undefined {
  if (text === undefined) return fallback;
  if (!allowed.includes(text as T)) throw new OptionError(`--${flag} '${text}' is not supported.`, { hint: `Use one of: ${allowed.join(', ')}.` });
  return text as T;
}

/** The preset's settings as icot run flags, for those the command line does not set itself. */
function presetArgs(preset: Preset, runArgs: readonly string[]): string[] {
  const out: string[] = [];
  const greedy = given(runArgs, 'greedy');
  if (!greedy && !given(runArgs, 'temperature')) out.push('--temperature', String(preset.temperature));
  if (!greedy && !given(runArgs, 'top-p')) out.push('--top-p', String(preset.topP));
  if (preset.repetitionPenalty !== undefined && !given(runArgs, 'repetition-penalty')) out.push('--repetition-penalty', String(preset.repetitionPenalty));
  if (!given(runArgs, 'max-new-tokens')) out.push('--max-new-tokens', String(preset.maxNewTokens));
  const signalTrigger = !runArgs.some((a, i) => (a === '--trigger' && runArgs[i + 1] !== 'signal') || (a.startsWith('--trigger=') && a !== '--trigger=signal'));
  if (signalTrigger && !given(runArgs, 'signal', 'signal-token-ids')) out.push('--signal-token-ids', preset.signalTokenIds.join(','));
  if (signalTrigger && !given(runArgs, 'every')) out.push('--every', String(preset.every));
  if (!given(runArgs, 'k')) out.push('--k', String(preset.k));
  return out;
}

/** Parse `icot eval run` arguments; undefined for --help. */
export function parseEvalRunOptions(args: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): EvalRunOptions | undefined {
  const { evalArgs, runArgs } = splitArgs(args);
  let values: Partial<Record<keyof typeof SPEC, string | boolean>>;
  try {
    ({ values } = parseArgs({ args: evalArgs, options: SPEC, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new OptionError((error as Error).message.replace(/\. To specify.*$/s, '.'), { hint: HELP_HINT });
  }
  if (values.help) return undefined;
  for (const [flag, why] of Object.entries(NOT_FOR_EVAL))
    if (given(runArgs, flag)) throw new OptionError(`${flag.length === 1 ? '-' : '--'}${flag} is an icot run option that icot eval run does not take: ${why}.`, { hint: HELP_HINT });
  const str = (key: keyof typeof SPEC): string | undefined => {
    const value = values[key];
    if (typeof value === 'string' && value.trim() === '') throw new OptionError(`--${key} needs a value, got an empty string.`, { hint: HELP_HINT });
    return value as string | undefined;
  };
  const require = (key: keyof typeof SPEC, example: string): string => {
    const value = str(key);
    if (value === undefined) throw new OptionError(`icot eval run needs --${key}.`, { hint: `E.g. --${key} ${example}. ${HELP_HINT}` });
    return value;
  };
  const dataset = choice('dataset', require('dataset', 'm3cot'), DATASET_NAMES, undefined)!;
  const data = require('data', 'data/m3cot');
  const method = choice('method', require('method', 'icot'), EVAL_METHODS, undefined)!;
  const out = require('out', 'runs/m3cot-icot');
  const shots = Number(choice('shots', str('shots'), ['0', '1'], '0')) as 0 | 1;
  if (dataset === 'llava-w' && str('split') !== undefined) throw new OptionError('LLaVA-Bench-in-the-Wild has no splits: --split applies to m3cot and scienceqa.', { hint: 'Leave --split out.' });
  const ids = str('ids')?.split(',').map((id) => id.trim()).filter((id) => id !== '');
  if (ids !== undefined && ids.length === 0) throw new OptionError('--ids needs at least one sample id.', { hint: 'E.g. --ids physical-commonsense-1398,physics-1074.' });
  const shardCount = positiveInteger('shard-count', str('shard-count'));
  const shardText = str('shard');
  let shard: ResolvedShard | undefined;
  if (shardText === 'auto') shard = shardFromEnvironment(env, shardCount);
  else {
    if (shardCount !== undefined) throw new OptionError('--shard-count goes with --shard auto (a Kubernetes Indexed Job gives only the index).', { hint: 'Use --shard auto --shard-count N, or --shard i/n.' });
    if (shardText !== undefined) shard = { ...parseShard(shardText), source: 'option' };
  }
  const presetName = str('preset');
  const preset = presetName === undefined ? undefined : EVAL_PRESETS[presetName];
  if (presetName !== undefined && !preset) throw new OptionError(`--preset '${presetName}' is not a preset.`, { hint: `Use one of: ${Object.keys(EVAL_PRESETS).join(', ')}.` });
  const demoImages = runArgs.filter((a) => a === '--demo-image' || a.startsWith('--demo-image=')).length;
  if (demoImages > 1) throw new OptionError('icot eval run takes one --demo-image: the demonstration\'s image.', { hint: 'Give it once.' });
  let run: RunOptions | undefined;
  try {
    run = parseRunOptions([...(preset ? presetArgs(preset, runArgs) : []), ...runArgs]);
  } catch (error) {
    if (error instanceof OptionError && /icot run --help/.test(error.hint ?? '')) throw new OptionError(error.message, { hint: `${HELP_HINT} (The model and strategy options are icot run's.)` });
    throw error;
  }
  if (!run) return undefined;
  return {
    dataset,
    data,
    split: dataset === 'llava-w' ? undefined : (str('split') ?? 'test'),
    method,
    shots,
    out,
    limit: positiveInteger('limit', str('limit')),
    ids,
    shard,
    preset: presetName,
    promptStyle: choice('prompt-style', str('prompt-style'), [...PROMPT_STYLES, 'auto'] as const, preset?.style ?? 'auto')!,
    context: choice('context', str('context'), ['auto', 'include', 'omit'] as const, 'auto')!,
    extractor: choice('extractor', str('extractor'), EXTRACTORS, 'm3cot')!,
    run,
    insertionsGiven: given(runArgs, 'max-insertions', 'no-insertions'),
  };
}

/** Stderr notes, progress with an ETA on a terminal (redrawn in place), plain lines every 10 s otherwise. */
class Progress {
  private lastPlain = -Infinity;
  private drawn = false;
  private started = performance.now();

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly interactive: boolean,
    private readonly quiet: boolean,
    private readonly total: number,
  ) {}

  /** Start the clock (the ETA counts from the first sample, not from the model load). */
  start(): void {
    this.started = performance.now();
  }

  note(line: string): void {
    if (this.quiet) return;
    this.clear();
    this.stream.write(`${line}\n`);
  }

  update(done: number, errors: number, score: string): void {
    if (this.quiet) return;
    const elapsed = (performance.now() - this.started) / 1000;
    const perSample = done > 0 ? elapsed / done : 0;
    const eta = done > 0 ? ` ETA ${formatDuration(perSample * (this.total - done))}` : '';
    const rate = done > 0 ? `, ${perSample < 10 ? perSample.toFixed(2) : perSample.toFixed(0)} s/sample` : '';
    const line = `icot: ${done}/${this.total} samples (${this.total ? Math.floor((100 * done) / this.total) : 100}%)${errors ? `, ${errors} failed` : ''}${score ? `, ${score}` : ''}${rate}${done < this.total ? eta : ''}`;
    if (this.interactive) {
      this.stream.write(`\r\x1b[K${line}`);
      this.drawn = true;
      return;
    }
    const now = performance.now();
    if (done === this.total || done === 1 || now - this.lastPlain >= 10_000) {
      this.lastPlain = now;
      this.stream.write(`${line}\n`);
    }
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** What one stage's model call returned, with the times measured around it. */
interface StageOutput {
  readonly text: string;
  readonly outcome: RunOutcome;
  readonly seed: number;
  /** Model load (when the child had to load it), image encoding, generation: ms. */
  readonly loadMs: number;
  readonly encodeMs: number;
}

function median(values: readonly number[]): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

async function loadDataset(options: EvalRunOptions): Promise<{ samples: readonly EvalSample[]; files: string[] }> {
  const dir = resolve(options.data);
  if (options.dataset === 'm3cot') return { samples: (await loadM3CoT(dir, { split: options.split!, checkImages: false })).samples, files: [`${options.split}.jsonl`] };
  if (options.dataset === 'scienceqa') return { samples: (await loadScienceQA(dir, { split: options.split!, checkImages: false })).samples, files: ['problems.json', 'pid_splits.json'] };
  const files = ['questions.jsonl', 'answers_gpt4.jsonl', ...(existsSync(join(dir, 'context.jsonl')) ? ['context.jsonl'] : [])];
  return { samples: (await loadLlavaBench(dir, { checkImages: false })).samples, files };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The run files of the other processes in the folder, refusing a different sharding. */
async function siblingRunFiles(out: string, own: string, shard: ResolvedShard | undefined): Promise<string[]> {
  const names = (await readdir(out)).filter((name) => RUN_FILE_NAME.test(name) && name !== own);
  for (const name of names) {
    const match = RUN_FILE_NAME.exec(name)!;
    const count = match[2] === undefined ? undefined : Number(match[2]);
    if (count !== shard?.count)
      throw new OptionError(
        `${join(out, name)} is ${count === undefined ? 'an unsharded run' : `a shard of ${count}`}, and this run is ${shard ? `shard ${shard.index} of ${shard.count}` : 'unsharded'}: the two split the samples differently.`,
        { hint: `Use the same sharding as the folder's other runs (${count === undefined ? 'no --shard' : `--shard i/${count}`}), or another --out.` },
      );
  }
  return names.map((name) => join(out, name));
}

function refuseDifferences(file: string, differences: readonly { path: string; recorded: unknown; requested: unknown }[]): void {
  if (!differences.length) return;
  const shown = differences.slice(0, 8).map((d) => `${d.path}: ${shortValue(d.recorded)} there, ${shortValue(d.requested)} now`);
  throw new OptionError(`${file} records another configuration, so this run cannot add its samples there: ${shown.join('; ')}${differences.length > 8 ? `; and ${differences.length - 8} more` : ''}.`, {
    hint: 'Rerun with the options the run file records (its "description"), or write this configuration into another --out folder.',
  });
}

/**
 * `icot eval run ...`: see {@link EVAL_RUN_HELP}. Returns the exit code (0 when every selected
 * sample has a line, 130 when cancelled); bad input throws typed errors (exit 2 in main).
 */
export async function evalRunCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const options = parseEvalRunOptions(args);
  if (!options) {
    io.stdout.write(EVAL_RUN_HELP);
    return 0;
  }
  const run = options.run;
  const progressQuiet = run.quiet;
  const noteLine = (line: string): void => {
    if (!progressQuiet) io.stderr.write(`${line}\n`);
  };

  // the split and this process's samples
  const dataDir = resolve(options.data);
  const dataset = await loadDataset(options);
  const byId = new Map(dataset.samples.map((s) => [s.id, s] as const));
  const { selected, inSelection } = selectSamples(
    dataset.samples.map((s) => s.id),
    { ...(options.ids ? { ids: options.ids } : {}), ...(options.limit !== undefined ? { limit: options.limit } : {}), ...(options.shard ? { shard: options.shard } : {}) },
  );
  const dataFiles: { path: string; sha256: string; bytes: number }[] = [];
  for (const name of dataset.files) dataFiles.push({ path: name, ...(await hashFile(join(dataDir, name))) });

  // the demonstration image (one-shot)
  let demoImage: string | undefined;
  if (options.shots === 1) {
    demoImage = run.demoImages[0] !== undefined ? resolve(run.demoImages[0]) : options.dataset === 'm3cot' ? join(dataDir, 'images', `${ICOT_DEMONSTRATION.id}.png`) : undefined;
    if (demoImage === undefined)
      throw new OptionError(`--shots 1 on ${options.dataset} needs the demonstration's image (M3CoT's ${ICOT_DEMONSTRATION.id}.png).`, {
        hint: `Pass --demo-image <m3cot folder>/images/${ICOT_DEMONSTRATION.id}.png (ICoT's demonstration is M3CoT's, for every dataset).`,
      });
    if (!(await isFile(demoImage)))
      throw new MissingImageError(`The demonstration's image ${demoImage} does not exist.`, {
        hint: `Put M3CoT's ${ICOT_DEMONSTRATION.id}.png there (it is a train image of M3CoT), or pass --demo-image <file>.`,
        location: { id: ICOT_DEMONSTRATION.id },
        path: demoImage,
      });
  } else if (run.demoImages.length) throw new OptionError('--demo-image goes with --shots 1.', { hint: 'Add --shots 1, or leave --demo-image out.' });

  // output folder and files
  const out = resolve(options.out);
  if (existsSync(out) && !(await stat(out)).isDirectory()) throw new OptionError(`--out ${options.out} is a file; the run's output is a folder.`, { hint: 'Name a folder (it is created if needed).' });
  await mkdir(out, { recursive: true });
  const names = shardFileNames(options.shard);
  const resultsPath = join(out, names.results);
  const runPath = join(out, names.run);
  const siblings = await siblingRunFiles(out, names.run, options.shard);

  // the configuration
  const isDemo = run.model === undefined;
  const signal = run.signal ?? (isDemo ? { tokenIds: demoModel.signalTokenIds } : 'newline');
  const trigger = describeTrigger(run, signal, isDemo);
  const { images: _images, prompt: _prompt, ...base } = describeRun(run, demoModel.image, { question: '' }, signal, trigger);
  const preset = options.preset ? EVAL_PRESETS[options.preset] : undefined;
  const maxInsertions = options.insertionsGiven
    ? run.maxInsertions
    : options.method !== 'icot'
      ? 0
      : preset?.maxInsertions === 'unlimited'
        ? run.maxNewTokens + 1 // one after the prompt and at most one per token: no limit
        : (preset?.maxInsertions ?? run.maxInsertions);
  const context = options.context === 'auto' ? options.dataset === 'scienceqa' : options.context === 'include';
  const demoHash = demoImage ? await hashFile(demoImage) : undefined;
  const evaluation = {
    promptStyle: options.promptStyle,
    context,
    extractor: options.extractor,
    insertions: 'final stage',
    seeds: 'per sample and stage: FNV-1a of (sampling.seed, id, stage)',
    demonstration: demoHash ? { id: ICOT_DEMONSTRATION.id, sha256: demoHash.sha256 } : null,
  };
  const description = { ...base, maxInsertions, evaluation };
  const versions = { node: process.version, platform: `${process.platform}-${process.arch}`, packages: icotPackageVersions() };
  const configuration = (extra: Record<string, unknown>): Record<string, unknown> => ({
    schemaVersion: JSON_SCHEMA_VERSION,
    dataset: options.dataset,
    split: options.split ?? null,
    subset: options.dataset === 'scienceqa' ? 'image' : null,
    method: options.method,
    shots: options.shots,
    preset: options.preset ?? null,
    description,
    versions,
    data: dataDir,
    dataFiles,
    shard: options.shard ? { index: options.shard.index, count: options.shard.count } : null,
    limit: options.limit ?? null,
    ids: options.ids ?? null,
    ...extra,
  });
  const recorded = (await readJsonIfPresent(runPath)) as Record<string, unknown> | undefined;
  if (recorded) refuseDifferences(runPath, diffConfigurations(recorded, configuration({}), [...NOT_CONFIGURATION, ...AFTER_LOAD]));

  // what is left to do
  let results = existsSync(resultsPath) ? await ResultsFile.open(resultsPath) : undefined;
  const state = results?.state;
  if (state?.repaired) noteLine(`icot: ${names.results}: cut off an unfinished last line (line ${state.repaired.line}, ${state.repaired.bytes} bytes, from an interrupted write)`);
  if (state?.duplicates) noteLine(`icot: warning: ${names.results} holds ${state.duplicates} extra line(s) of samples already finished (two processes ran this shard at once?); the first line of each counts`);
  const pending = selected.filter((s) => !state?.done.has(s.id));
  const retry = new Set(pending.map((s) => s.id).filter((id) => state?.failed.has(id)));
  const shardText = options.shard ? `, shard ${options.shard.index}/${options.shard.count}${options.shard.source === 'option' ? '' : ` (from ${options.shard.source === 'slurm' ? 'the Slurm array' : 'the Indexed Job'})`}` : '';
  noteLine(
    `icot: ${options.dataset}${options.split ? `/${options.split}` : ''}, ${options.method}${options.shots ? ' one-shot' : ''}${shardText}: ${selected.length} samples` +
      `${inSelection !== dataset.samples.length || options.shard ? ` (of ${dataset.samples.length})` : ''}, ${selected.length - pending.length} done earlier, ${pending.length} to run${retry.size ? ` (${retry.size} failed before, retried)` : ''}`,
  );
  for (const s of pending) {
    const image = byId.get(s.id)!.image;
    if (image === undefined || !(await isFile(image))) {
      const sample = byId.get(s.id)!;
      throw new MissingImageError(`The image of ${options.dataset} record '${s.id}' (${sample.location.file}${sample.location.line !== undefined ? ` line ${sample.location.line}` : ''}) is missing: ${image}.`, {
        hint: `Put the dataset's images into ${join(options.data, 'images')} in its published layout (icot eval score --help), or leave the sample out with --ids / --limit.`,
        location: sample.location,
        path: image ?? '',
      });
    }
  }

  const started = performance.now();
  const progress = new Progress(io.stderr, io.interactive, progressQuiet, pending.length);
  const correctCount = { done: 0, correct: 0 };
  const rouges: number[] = [];
  const selectedIds = new Set(selected.map((s) => s.id));
  for (const record of state?.done.values() ?? []) {
    if (!selectedIds.has(record.id)) continue;
    if (typeof record['correct'] === 'boolean') {
      correctCount.done++;
      if (record['correct']) correctCount.correct++;
    } else if (typeof record['rougeL'] === 'number') rouges.push(record['rougeL']);
  }
  const scoreText = (): string =>
    options.dataset === 'llava-w' ? (rouges.length ? `ROUGE-L ${numpyMean(rouges).toFixed(4)}` : '') : correctCount.done ? `${correctCount.correct}/${correctCount.done} correct (${((100 * correctCount.correct) / correctCount.done).toFixed(1)}%)` : '';
  const overheads: number[] = [];
  let ran = 0;
  let failed = 0;
  let cancelled = false;

  const summary = (): Record<string, unknown> => ({
    schemaVersion: JSON_SCHEMA_VERSION,
    dataset: options.dataset,
    split: options.split ?? null,
    method: options.method,
    shots: options.shots,
    shard: options.shard ? { index: options.shard.index, count: options.shard.count } : null,
    out,
    results: resultsPath,
    run: runPath,
    selected: selected.length,
    finished: selected.length - pending.length + ran,
    ran,
    failed,
    pending: pending.length - ran - failed,
    cancelled,
    ...(options.dataset === 'llava-w' ? { rougeL: rouges.length ? numpyMean(rouges) : null } : { correct: correctCount.correct, accuracy: correctCount.done ? correctCount.correct / correctCount.done : null }),
    timings: { wallMs: round(performance.now() - started), overheadMs: overheads.length ? { mean: round(numpyMean(overheads)), median: round(median(overheads)), samples: overheads.length } : null },
  });
  const finish = (code: number): number => {
    progress.clear();
    const s = summary();
    const overhead = s['timings'] as { overheadMs: { median: number } | null };
    noteLine(
      `icot: ${cancelled ? 'cancelled' : 'done'}: ran ${ran} sample${ran === 1 ? '' : 's'}${failed ? `, ${failed} failed (rerun to retry them)` : ''} in ${formatDuration((performance.now() - started) / 1000)}; ${names.results} has ${s['finished']} of this run's ${selected.length}` +
        `${scoreText() ? `; ${scoreText()} (this file; icot eval report ${options.out} merges shards)` : ''}`,
    );
    if (overhead.overheadMs) noteLine(`icot: runner overhead ${overhead.overheadMs.median.toFixed(1)} ms per sample (median: wall time minus model loading, image encoding and generation)`);
    if (cancelled) noteLine('icot: rerun the same command to resume');
    if (run.json) io.stdout.write(`${JSON.stringify(s)}\n`);
    return code;
  };

  if (pending.length === 0) {
    if (recorded) await writeJsonAtomic(runPath, { ...recorded, limit: options.limit ?? null, ids: options.ids ?? null, updatedAt: new Date().toISOString() });
    await results?.close();
    return finish(0);
  }

  const showDownload = createDownloadProgress({ stream: io.stderr, interactive: io.interactive, quiet: progressQuiet });
  const runner = new ChildRunner({ onOutput: (text) => void io.stderr.write(text) });
  let lastLoadMs = 0;
  const events = (marks: { loading?: number; loaded?: number; encoded?: number }) => (event: RunEvent): void => {
    const now = performance.now();
    if (event.type === 'model-loading') {
      marks.loading = now;
      progress.note(`icot: loading ${event.source} ...`);
    } else if (event.type === 'download') showDownload(event);
    else if (event.type === 'model-loaded') marks.loaded = now;
    else if (event.type === 'images-encoded') marks.encoded = now;
  };
  try {
    // one small run first: loads the model, hashes its files, and tells its family and the
    // demonstration image's grid (the prompts depend on them)
    const probeImage = demoImage ?? byId.get(pending[0]!.id)!.image!;
    const probeMarks: { loading?: number; loaded?: number } = {};
    const probe = await runner.run({ ...base, images: [{ path: probeImage }], prompt: { question: 'Describe the image.' }, maxNewTokens: 1, maxInsertions: 0, record: true }, { ...(io.signal ? { signal: io.signal } : {}), onEvent: events(probeMarks) });
    lastLoadMs = probeMarks.loaded !== undefined && probeMarks.loading !== undefined ? probeMarks.loaded - probeMarks.loading : 0;
    const family = probe.model.family;
    noteLine(`icot: ${family} on ${probe.model.provider}${lastLoadMs ? `, loaded in ${lastLoadMs < 60_000 ? `${(lastLoadMs / 1000).toFixed(1)} s` : formatDuration(lastLoadMs / 1000)}` : ''}`);
    const style: PromptStyle = options.promptStyle === 'auto' ? (family === 'chameleon' ? 'chameleon' : 'chat') : options.promptStyle;
    const regionFrame = family === 'qwen2-vl' ? { before: '<|vision_start|>', after: '<|vision_end|>' } : undefined;
    let regions: GridRegion[] | undefined;
    if (options.method === 'icot' && options.shots === 1) {
      const grid = probe.images[0]!;
      if (grid.tiles > 1)
        throw new OptionError(`One-shot ICoT points at regions of the demonstration image, and ${family} models tile images, which cannot be cropped to regions.`, {
          hint: 'Use a model with single-grid images (Qwen2-VL, LLaVA, Chameleon) for --method icot --shots 1, or --shots 0.',
        });
      regions = demonstrationRegions({ grid: { rows: grid.rows, cols: grid.cols }, width: grid.width, height: grid.height, coverage: family === 'chameleon' ? 'center-crop' : 'whole' });
    }
    const full = configuration({
      description: { ...description, evaluation: { ...evaluation, promptStyle: style, demonstrationRegions: regions ?? null, regionFrame: regionFrame ?? null } },
      modelFolder: probe.record?.modelFolder ?? null,
      modelFiles: probe.record?.modelFiles ?? [],
    });
    if (recorded) refuseDifferences(runPath, diffConfigurations(recorded, full, NOT_CONFIGURATION));
    for (const sibling of siblings) {
      const other = await readJsonIfPresent(sibling);
      if (other) refuseDifferences(sibling, diffConfigurations(other, full, NOT_CONFIGURATION));
    }
    const now = new Date().toISOString();
    await writeJsonAtomic(runPath, { ...full, createdAt: (recorded?.['createdAt'] as string | undefined) ?? now, updatedAt: now });
    results ??= await ResultsFile.open(resultsPath);
    await results.dropFailed(retry);

    const settings: MethodSettings = {
      method: options.method,
      shots: options.shots,
      style,
      context,
      ...(regions ? { demonstrationRegions: regions } : {}),
      ...(regionFrame ? { regionFrame } : {}),
    };
    const baseSeed = run.seed;
    let inARow = 0;
    progress.start();
    progress.update(0, 0, scoreText());
    for (const { id } of pending) {
      const sample = byId.get(id)!;
      const sampleStart = performance.now();
      let stageName = '';
      try {
        const method = await runMethod(sample, settings, async (prompt: StagePrompt): Promise<StageOutput> => {
          stageName = prompt.stage;
          const seed = stageSeed(baseSeed, id, prompt.stage);
          const marks: { loading?: number; loaded?: number; encoded?: number } = {};
          const stageDescription: RunDescription = {
            ...base,
            images: prompt.images.map((which) => ({ path: which === 'demo' ? demoImage! : sample.image! })),
            prompt: { messages: prompt.messages },
            maxInsertions: prompt.final ? maxInsertions : 0,
            sampling: { ...base.sampling, seed },
          };
          const outcome = await runner.run(stageDescription, { ...(io.signal ? { signal: io.signal } : {}), onEvent: events(marks) });
          const loadMs = marks.loading !== undefined && marks.loaded !== undefined ? marks.loaded - marks.loading : 0;
          const encodeMs = marks.loaded !== undefined && marks.encoded !== undefined ? marks.encoded - marks.loaded : 0;
          return { text: outcome.result.text, outcome, seed, loadMs, encodeMs };
        });
        const stages = method.stages;
        const multi = stages.length > 1;
        const last = stages[stages.length - 1]!.output;
        const sum = (pick: (o: StageOutput) => number): number => stages.reduce((total, s) => total + pick(s.output), 0);
        const modelMs = sum((o) => o.loadMs + o.encodeMs + o.outcome.result.timings.totalMs);
        const totalMs = performance.now() - sampleStart;
        const line: Record<string, unknown> & { id: string } = { schemaVersion: JSON_SCHEMA_VERSION, id, prediction: method.prediction };
        if (sample.dataset === 'llava-w') {
          line['rougeL'] = rougeL(method.prediction, [sample.reference]);
          line['category'] = sample.category;
          rouges.push(line['rougeL'] as number);
        } else {
          const extracted = extractAnswer(method.prediction, sample.choices, { extractor: options.extractor, location: sample.location });
          line['extracted'] = extracted;
          line['correct'] = extracted === sample.answer;
          line['answer'] = sample.answer;
          line['choices'] = sample.choices;
          if (sample.category !== undefined) line['category'] = sample.category;
          line['domain'] = sample.domain;
          line['topic'] = sample.topic;
          correctCount.done++;
          if (line['correct']) correctCount.correct++;
        }
        line['insertions'] = stages.flatMap(({ prompt, output }) =>
          output.outcome.result.insertions.map((i) => ({
            ...(multi ? { stage: prompt.stage } : {}),
            step: i.step,
            selected: i.selected,
            selector: i.selector,
            ...(i.fallback ? { fallback: i.fallback } : {}),
            ...(i.variant ? { variant: i.variant } : {}),
            insertedTokens: i.insertedTokens,
          })),
        );
        if (multi)
          line['stages'] = stages.map(({ prompt, output }) => ({
            stage: prompt.stage,
            text: output.text,
            finishReason: output.outcome.result.finishReason,
            insertions: output.outcome.result.insertions.length,
            usage: output.outcome.result.usage,
            seed: output.seed,
          }));
        if (method.subQuestions) line['subQuestions'] = method.subQuestions;
        line['finishReason'] = last.outcome.result.finishReason;
        line['usage'] = {
          promptTokens: sum((o) => o.outcome.result.usage.promptTokens),
          generatedTokens: sum((o) => o.outcome.result.usage.generatedTokens),
          insertedTokens: sum((o) => o.outcome.result.usage.insertedTokens),
        };
        line['seed'] = last.seed;
        const overheadMs = totalMs - modelMs;
        line['timings'] = {
          totalMs: round(totalMs),
          modelMs: round(modelMs),
          loadMs: round(sum((o) => o.loadMs)),
          encodeMs: round(sum((o) => o.encodeMs)),
          prefillMs: round(sum((o) => o.outcome.result.timings.prefillMs)),
          decodeMs: round(sum((o) => o.outcome.result.timings.decodeMs)),
          insertionMs: round(sum((o) => o.outcome.result.timings.insertionMs)),
          generateMs: round(sum((o) => o.outcome.result.timings.totalMs)),
          overheadMs: round(overheadMs),
        };
        await results.append(line);
        overheads.push(performance.now() - sampleStart - modelMs); // with the write and its fsync
        ran++;
        inARow = 0;
      } catch (error) {
        if (IcotError.is(error) && error.code === 'aborted') {
          cancelled = true;
          break;
        }
        if (IcotError.is(error) && FATAL.has(error.code)) throw error;
        const code: IcotErrorCode = IcotError.is(error) ? error.code : 'internal';
        const message = (error as Error)?.message ?? String(error);
        await results.append({
          schemaVersion: JSON_SCHEMA_VERSION,
          id,
          error: { code, message, hint: IcotError.is(error) ? (error.hint ?? null) : null },
          ...(stageName ? { stage: stageName } : {}),
        } as ResultRecord);
        failed++;
        inARow++;
        progress.note(`icot: sample ${id} failed${stageName ? ` (stage ${stageName})` : ''}: ${message}`);
        if (inARow >= MAX_FAILURES_IN_A_ROW)
          throw new IcotError('internal', `${MAX_FAILURES_IN_A_ROW} samples in a row failed (the last: ${message}); stopping, as the model or the setup, not a sample, looks wrong.`, {
            hint: `Their errors are in ${resultsPath}; fix the cause and rerun the same command (failed samples are retried).`,
            cause: error,
          });
      }
      progress.update(ran + failed, failed, scoreText());
    }
  } catch (error) {
    if (IcotError.is(error) && error.code === 'aborted') cancelled = true;
    else {
      progress.clear();
      throw error;
    }
  } finally {
    await runner.close();
    await results?.close();
  }
  return finish(cancelled ? 130 : 0);
}

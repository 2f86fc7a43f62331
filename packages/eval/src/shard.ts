/**
 * Which samples one process of a run takes: `--ids`, `--limit` and a shard of the split, assigned
 * deterministically (sample index modulo the shard count, over the split's order), with the shard
 * read from the option or from the schedulers people run (Slurm job arrays, Kubernetes Indexed Jobs).
 * @module
 */
import { OptionError } from '@icot/core';

/** Shard `index` of `count` (0 <= index < count). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Where a shard came from, for messages. */
export interface ResolvedShard extends Shard {
  /** `option` (--shard i/n), `slurm` (SLURM_ARRAY_TASK_*), `indexed-job` (JOB_COMPLETION_INDEX). */
  readonly source: 'option' | 'slurm' | 'indexed-job';
}

const SHARD_HINT = 'Write the shard as i/n with 0 <= i < n, e.g. --shard 0/4 ... --shard 3/4, or --shard auto under a Slurm job array or a Kubernetes Indexed Job.';

function count(text: string, what: string, hint: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n)) throw new OptionError(`${what} must be an integer, got '${text}'.`, { hint });
  return n;
}

/** Parse `i/n` (`--shard 2/8`). Throws {@link OptionError} for anything else. */
export function parseShard(text: string): Shard {
  const match = /^\s*(-?\d+)\s*\/\s*(-?\d+)\s*$/.exec(text);
  if (!match) throw new OptionError(`--shard must be i/n (shard i of n, counted from 0) or auto, got '${text}'.`, { hint: SHARD_HINT });
  const index = Number(match[1]);
  const n = Number(match[2]);
  if (n < 1) throw new OptionError(`--shard ${text}: the shard count must be at least 1.`, { hint: SHARD_HINT });
  if (index < 0 || index >= n) throw new OptionError(`--shard ${text}: the shard index must be from 0 to ${n - 1} (shards are counted from 0).`, { hint: SHARD_HINT });
  return { index, count: n };
}

/**
 * The shard a scheduler gave this process (`--shard auto`):
 * - a Slurm job array: index `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN`, count
 *   `SLURM_ARRAY_TASK_COUNT` (an array `--array=0-7` or `1-8` gives 8 shards; a stepped array such
 *   as `0-14:2` is refused: its ids are not consecutive);
 * - a Kubernetes Indexed Job: index `JOB_COMPLETION_INDEX`, count `shardCount` (`--shard-count`, the
 *   Job's `completions`; Kubernetes does not tell the pod).
 * `shardCount`, when given under Slurm, must equal the array's count. Throws {@link OptionError}
 * when neither is present or the values do not fit.
 */
export function shardFromEnvironment(env: Readonly<Record<string, string | undefined>>, shardCount?: number): ResolvedShard {
  const taskId = env['SLURM_ARRAY_TASK_ID'];
  if (taskId !== undefined && taskId !== '') {
    const hint = 'Run under a Slurm job array with consecutive task ids (sbatch --array=0-7), or pass --shard i/n.';
    const id = count(taskId, 'SLURM_ARRAY_TASK_ID', hint);
    const min = count(env['SLURM_ARRAY_TASK_MIN'] ?? '', 'SLURM_ARRAY_TASK_MIN', hint);
    const total = count(env['SLURM_ARRAY_TASK_COUNT'] ?? '', 'SLURM_ARRAY_TASK_COUNT', hint);
    const max = env['SLURM_ARRAY_TASK_MAX'] !== undefined && env['SLURM_ARRAY_TASK_MAX'] !== '' ? count(env['SLURM_ARRAY_TASK_MAX'], 'SLURM_ARRAY_TASK_MAX', hint) : undefined;
    const step = env['SLURM_ARRAY_TASK_STEP'];
    if ((step !== undefined && step !== '' && step !== '1') || (max !== undefined && max - min + 1 !== total))
      throw new OptionError(`The Slurm job array's task ids are not consecutive (min ${min}, max ${max ?? '?'}, count ${total}${step ? `, step ${step}` : ''}), so they cannot number the shards.`, {
        hint: 'Submit the array with consecutive ids (sbatch --array=0-N, a % limit is fine), or pass --shard i/n yourself.',
      });
    const index = id - min;
    if (total < 1 || index < 0 || index >= total)
      throw new OptionError(`SLURM_ARRAY_TASK_ID ${id} - SLURM_ARRAY_TASK_MIN ${min} = ${index} is not a shard of SLURM_ARRAY_TASK_COUNT ${total}.`, { hint });
    if (shardCount !== undefined && shardCount !== total)
      throw new OptionError(`--shard-count ${shardCount} does not match the Slurm array's ${total} tasks.`, { hint: 'Leave --shard-count out under Slurm (the array says how many shards there are), or make them equal.' });
    return { index, count: total, source: 'slurm' };
  }
  const completion = env['JOB_COMPLETION_INDEX'];
  if (completion !== undefined && completion !== '') {
    const hint = "Pass --shard-count N with N the Indexed Job's completions (spec.completions).";
    if (shardCount === undefined) throw new OptionError('JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job), but the number of shards is not given.', { hint });
    const index = count(completion, 'JOB_COMPLETION_INDEX', hint);
    if (index < 0 || index >= shardCount) throw new OptionError(`JOB_COMPLETION_INDEX ${index} is not a shard of --shard-count ${shardCount}.`, { hint });
    return { index, count: shardCount, source: 'indexed-job' };
  }
  throw new OptionError('--shard auto found no scheduler: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set.', {
    hint: 'Pass --shard i/n yourself, or run under sbatch --array or an Indexed Job.',
  });
}

/** What a process takes from the split. */
export interface SelectionOptions {
  /** Only these ids (in the split's order); each must be in the split. */
  readonly ids?: readonly string[];
  /** The first `limit` samples of the split (after `ids`). */
  readonly limit?: number;
  /** This process's shard (default: all). */
  readonly shard?: Shard;
}

/** A sample a process takes, with its index in the split. */
export interface SelectedSample {
  /** Index in the split's order (what the shard is computed from). */
  readonly index: number;
  readonly id: string;
}

/**
 * The samples one process takes, in the split's order: those named by `ids` (all by default), the
 * first `limit` of them, then those whose index in the split (not in the selection) is `shard.index`
 * modulo `shard.count` - so a sample's shard never depends on `--ids` or `--limit`, and widening
 * them leaves every sample where it was. Unknown ids are an {@link OptionError} naming them.
 */
export function selectSamples(ids: readonly string[], options: SelectionOptions = {}): { selected: readonly SelectedSample[]; inSelection: number } {
  let chosen = ids.map((id, index) => ({ index, id }));
  if (options.ids) {
    const wanted = new Set(options.ids);
    const known = new Set(ids);
    const unknown = [...wanted].filter((id) => !known.has(id));
    if (unknown.length)
      throw new OptionError(`--ids names ${unknown.length} sample${unknown.length > 1 ? 's' : ''} the split does not have: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}.`, {
        hint: 'Use the ids of the dataset records (M3CoT id, ScienceQA pid, LLaVA question_id) of this split.',
      });
    chosen = chosen.filter((s) => wanted.has(s.id));
  }
  if (options.limit !== undefined) chosen = chosen.slice(0, options.limit);
  const inSelection = chosen.length;
  const shard = options.shard;
  return { selected: shard ? chosen.filter((s) => s.index % shard.count === shard.index) : chosen, inSelection };
}

/** File names of a shard's outputs: `results.jsonl` and `run.json`, or `results-<i>-of-<n>.jsonl` and `run-<i>-of-<n>.json`. */
export function shardFileNames(shard: Shard | undefined): { readonly results: string; readonly run: string } {
  return shard ? { results: `results-${shard.index}-of-${shard.count}.jsonl`, run: `run-${shard.index}-of-${shard.count}.json` } : { results: 'results.jsonl', run: 'run.json' };
}

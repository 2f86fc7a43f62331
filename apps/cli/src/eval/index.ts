/**
 * `icot eval`: evaluation on M3CoT, ScienceQA and LLaVA-Bench-in-the-Wild (`icot eval score`).
 * @module
 */
import { OptionError } from '@icot/core';
import type { CommandIo } from '../run.js';
import { REPORT_HELP, reportCommand } from './report.js';
import { EVAL_RUN_HELP, evalRunCommand } from './run.js';
import { SCORE_HELP, scoreCommand } from './score.js';
import { SWEEP_HELP, sweepCommand } from './sweep.js';

/** Help of `icot eval`. */
export const EVAL_HELP = `Usage: icot eval <subcommand> [options]

Evaluation on the sets ICoT reports (M3CoT, ScienceQA, LLaVA-Bench-in-the-Wild), scored exactly as
the papers' code scores them.

  icot eval run --dataset m3cot|scienceqa|llava-w --data <dir> --method <method> --out <dir> [options]
      run no-cot, cot, ccot, ddcot or icot (zero- or one-shot) over a split with a model: one
      JSON line per sample, resumable, sharded (--shard i/n, or Slurm / Indexed Job with auto)
  icot eval score --dataset m3cot|scienceqa|llava-w --predictions <file> [--data <dir>] [--json]
      re-score a predictions file: M3CoT's published prediction files, ICoT's outputs, icot's
      results, LLaVA answer files (icot eval score --help for the options and the rules)
  icot eval report <out> [--json | --markdown] [--html <file>] [--data <dir>] [--paper]
      the report of an icot eval run folder: shards merged, missing samples listed, accuracy or
      ROUGE-L by domain, topic or category, the insertions' cost; --sweep <dir> for a sweep
  icot eval sweep <file> [--out <dir>] [--jobs <n>] [--dry-run] [--json] [--paper]
      run a grid of icot eval run configurations (JSON or YAML) with the controls (no insertion,
      random selector at the same k), each into its own folder, resumable; then compare them
`;

/** `icot eval <subcommand> ...`. Returns the exit code. */
export async function evalCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(EVAL_HELP);
    return 0;
  }
  if (sub === 'score') {
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(SCORE_HELP);
      return 0;
    }
    return scoreCommand(rest, io);
  }
  if (sub === 'run') {
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(EVAL_RUN_HELP);
      return 0;
    }
    return evalRunCommand(rest, io);
  }
  if (sub === 'report') {
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(REPORT_HELP);
      return 0;
    }
    return reportCommand(rest, io);
  }
  if (sub === 'sweep') {
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(SWEEP_HELP);
      return 0;
    }
    return sweepCommand(rest, io);
  }
  throw new OptionError(`Unknown subcommand 'icot eval ${sub}'.`, { hint: "Run 'icot eval --help' for the subcommands." });
}

/**
 * `icot eval`: evaluation on M3CoT, ScienceQA and LLaVA-Bench-in-the-Wild (`icot eval score`).
 * @module
 */
import { OptionError } from '@icot/core';
import type { CommandIo } from '../run.js';
import { SCORE_HELP, scoreCommand } from './score.js';

/** Help of `icot eval`. */
export const EVAL_HELP = `Usage: icot eval <subcommand> [options]

Evaluation on the sets ICoT reports (M3CoT, ScienceQA, LLaVA-Bench-in-the-Wild), scored exactly as
the papers' code scores them.

  icot eval score --dataset m3cot|scienceqa|llava-w --predictions <file> [--data <dir>] [--json]
      re-score a predictions file: M3CoT's published prediction files, ICoT's outputs, icot's
      results, LLaVA answer files (icot eval score --help for the options and the rules)
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
  throw new OptionError(`Unknown subcommand 'icot eval ${sub}'.`, { hint: "Run 'icot eval --help' for the subcommands." });
}

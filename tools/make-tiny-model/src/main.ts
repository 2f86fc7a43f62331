import { parseArgs } from 'node:util';
import { IcotError, OptionError } from '@icot/core';
import { WEIGHT_DTYPES, type WeightDtype } from '@icot/testing/models';
import { TINY_FAMILIES, TINY_FAMILY_NAMES, type BackendName, type TinyFamilyName } from './families.js';
import { DEMO_FILE, DEMO_MAX_NEW_TOKENS, demoRunArguments, makeTinyModel, shellCommand } from './make.js';

/** Help text of the command. */
export const HELP = `Usage: pnpm --silent make-tiny-model --family <name> --out <dir> [options]

Writes a tiny random-weight model folder (onnx-community layout), an image.png and ${DEMO_FILE}
with a question and signal token ids for which a greedy 'icot run' (--every 2, ${DEMO_MAX_NEW_TOKENS} new tokens)
inserts image patches at a generated step - to test a backend without downloading anything.

Options
  --family <name>      one of
${TINY_FAMILY_NAMES.map((name) => `                         ${name.padEnd(11)} ${TINY_FAMILIES[name].description}`).join('\n')}
  --out <dir>          the folder to write (relative to the directory the command is typed in)
  --seed <n>           seed of the random weights (default 1)
  --dtype <name>       weight variant: ${WEIGHT_DTYPES.join(', ')} (default fp32)
  --force              overwrite the model files of a non-empty folder (other files are kept)
  --backends <list>    backends the demo run is checked on, e.g. onnx (default: every backend
                       that runs the family: onnx and transformers; onnx alone for chameleon)
  --help, -h           show this help

Exit codes: 0 written and checked, 2 bad options or folder, 1 the check failed, 130 cancelled.
`;

/** Where the command writes. */
export interface MakeTinyModelIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly signal?: AbortSignal;
}

function parseOptions(argv: readonly string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        family: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        dtype: { type: 'string' },
        force: { type: 'boolean' },
        backends: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        debug: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new OptionError((error as Error).message, { hint: "Run 'pnpm --silent make-tiny-model --help' for the options." });
  }
  if (values.help) return undefined;
  const family = values.family;
  if (family === undefined) throw new OptionError('--family is required.', { hint: `Use one of: ${TINY_FAMILY_NAMES.join(', ')}.` });
  if (!Object.hasOwn(TINY_FAMILIES, family)) throw new OptionError(`Unknown family '${family}'.`, { hint: `Use one of: ${TINY_FAMILY_NAMES.join(', ')}.` });
  if (values.out === undefined || values.out === '') throw new OptionError('--out is required.', { hint: 'Pass the folder to write, e.g. --out tiny-model.' });
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (values.seed.trim() === '' || !Number.isSafeInteger(seed) || seed < 0) throw new OptionError(`--seed must be an integer >= 0, got '${values.seed}'.`, { hint: 'Pass e.g. --seed 2.' });
  }
  const dtype = values.dtype ?? 'fp32';
  if (!(WEIGHT_DTYPES as readonly string[]).includes(dtype)) throw new OptionError(`Unknown dtype '${dtype}'.`, { hint: `Use one of: ${WEIGHT_DTYPES.join(', ')}.` });
  let backends: BackendName[] | undefined;
  if (values.backends !== undefined) {
    backends = values.backends.split(',').map((b) => b.trim()) as BackendName[];
    const bad = backends.filter((b) => b !== 'onnx' && b !== 'transformers');
    if (bad.length || backends.length === 0) throw new OptionError(`--backends must list onnx and/or transformers, got '${values.backends}'.`, { hint: 'Pass e.g. --backends onnx or --backends onnx,transformers.' });
  }
  return { family: family as TinyFamilyName, out: values.out, seed, dtype: dtype as WeightDtype, force: values.force === true, backends };
}

/**
 * The `make-tiny-model` command: parse the options, write and check the folder (see
 * `makeTinyModel`), say on stderr how to run it. Nothing but `--help` goes to stdout. Returns the
 * exit code: 0, 2 for bad options or a non-empty folder without `--force`, 1 when the check fails,
 * 130 when cancelled.
 */
export async function main(argv: readonly string[], io: MakeTinyModelIo): Promise<number> {
  const debug = argv.includes('--debug') || process.env['ICOT_DEBUG'] === '1';
  try {
    const options = parseOptions(argv);
    if (!options) {
      io.stdout.write(HELP);
      return 0;
    }
    const { dir, demo } = await makeTinyModel({
      family: options.family,
      out: options.out,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      dtype: options.dtype,
      force: options.force,
      ...(options.backends ? { backends: options.backends } : {}),
      onProgress: (line) => io.stderr.write(`${line}\n`),
      ...(io.signal ? { signal: io.signal } : {}),
    });
    const command = shellCommand(['pnpm', '--silent', 'icot', ...demoRunArguments(dir, demo)]);
    io.stderr.write(`make-tiny-model: wrote ${dir} (the model, ${demo.image} and ${DEMO_FILE}). Run ICoT on it:\n  ${command}\n`);
    return 0;
  } catch (error) {
    if (IcotError.is(error)) {
      if (error.code === 'aborted') {
        io.stderr.write('\nmake-tiny-model: cancelled\n');
        return 130;
      }
      io.stderr.write(`\nerror: ${error.message}\n`);
      if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
      if (debug) io.stderr.write(`${error.stack}\n`);
      return error.code === 'internal' ? 1 : 2;
    }
    io.stderr.write(`\nerror: ${(error as Error)?.message ?? String(error)}\n`);
    if (debug) io.stderr.write(`${(error as Error)?.stack}\n`);
    return 1;
  }
}

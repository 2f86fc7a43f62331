import { readFileSync } from 'node:fs';
import { errorDocument, IcotError, OptionError } from '@icot/core';
import { CACHE_HELP, cacheCommand } from './cache.js';
import { EVAL_HELP, evalCommand } from './eval/index.js';
import { parseRunOptions, RUN_HELP } from './options.js';
import { runCommand, type CommandIo } from './run.js';
import { loadWebCommand } from './web.js';

const HELP = `Usage: icot <command> [options]

Commands
  run        run Interleaved-Modal Chain-of-Thought on an image and a question
  cache      show or clear downloaded models and tapped copies (icot cache path|list|clear)
  eval       score predictions on M3CoT, ScienceQA, LLaVA-W as the papers do (icot eval score),
             run methods on them (icot eval run), report on runs and sweeps (icot eval report, sweep)
  web        serve the web app and its HTTP API on 127.0.0.1 (package @icot/web; icot web --help)
  help       show this help (icot help run: help of a command)

Options
  --version  print the version
  --debug    print stack traces of errors (or set ICOT_DEBUG=1)

Run 'icot run' with no options to try the embedded demo model offline.
`;

const FALLBACK_HINTS: Partial<Record<string, string>> = {
  'invalid-option': "Run 'icot run --help' for the options and their values.",
  'invalid-prompt': 'Check the prompt: it needs one image placeholder per image.',
  'image-unreadable': 'Pass a PNG or JPEG file.',
  'model-files': 'Pass a complete model folder in the onnx-community layout.',
};

/** `icot help <topic>`. */
const HELP_TOPICS: Readonly<Record<string, string>> = { run: RUN_HELP, cache: CACHE_HELP, eval: EVAL_HELP };

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Exit codes: 0 success, 1 unexpected failure, 2 bad input (usage, files, options), 130 cancelled. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const debug = argv.includes('--debug') || process.env['ICOT_DEBUG'] === '1';
  const args = argv.filter((a) => a !== '--debug');
  try {
    const [command, ...rest] = args;
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      const topic = command === 'help' ? rest[0] : undefined;
      if (topic === 'web') return await (await loadWebCommand())(['--help'], io);
      const text = topic === undefined ? HELP : HELP_TOPICS[topic];
      if (text === undefined)
        throw new OptionError(`There is no help on '${topic}'.`, { hint: `Help topics: ${Object.keys(HELP_TOPICS).join(', ')} (icot help run).` });
      io.stdout.write(text);
      return 0;
    }
    if (command === '--version' || command === '-v') {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    if (command === 'run') {
      const options = parseRunOptions(rest);
      if (!options) {
        io.stdout.write(RUN_HELP);
        return 0;
      }
      return await runCommand(options, io);
    }
    if (command === 'cache') return await cacheCommand(rest, io);
    if (command === 'eval') return await evalCommand(rest, io);
    if (command === 'web') return await (await loadWebCommand())(rest, io);
    throw new OptionError(`Unknown command '${command}'.`, { hint: "Run 'icot help' for the list of commands." });
  } catch (error) {
    // under --json, scripts read the error from stdout: {"schemaVersion", "error": {"code", "message", "hint"}}
    if (args.includes('--json') && !(IcotError.is(error) && error.code === 'aborted'))
      io.stdout.write(`${JSON.stringify(errorDocument(error, IcotError.is(error) ? FALLBACK_HINTS[error.code] : undefined))}\n`);
    if (IcotError.is(error)) {
      io.stderr.write(`\nerror: ${error.message}\n`);
      const hint = error.hint ?? FALLBACK_HINTS[error.code];
      if (hint) io.stderr.write(`hint: ${hint}\n`);
      if (debug) io.stderr.write(`${error.stack}\n`);
      return error.code === 'aborted' ? 130 : error.code === 'internal' ? 1 : 2;
    }
    io.stderr.write(`\nerror: ${(error as Error)?.message ?? String(error)}\n`);
    io.stderr.write(debug ? `${(error as Error)?.stack}\n` : 'This is a bug in icot; rerun with --debug for the stack trace and report it.\n');
    return 1;
  }
}

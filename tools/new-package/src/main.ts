import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import { IcotError, OptionError } from '@icot/core';
import { checkKindAndName, createPackage, KIND_DESCRIPTIONS, PACKAGE_KINDS } from './generate.js';

/** Help text of the command. */
export const HELP = `Usage: pnpm --silent new-package --kind <kind> --name <name> [options]

Creates packages/<kind>-<name> (@icot/<kind>-<name>): a minimal working implementation of the spec v2
interface of that kind, and a test that runs its conformance suite from @icot/testing - it passes
as generated.

Options
  --kind <kind>          one of
${PACKAGE_KINDS.map((kind) => `                           ${kind.padEnd(9)} ${KIND_DESCRIPTIONS[kind].implements}; runs ${KIND_DESCRIPTIONS[kind].suite}`).join('\n')}
  --name <name>          lower-case words joined by hyphens, e.g. top-attention
  --description <text>   one sentence for package.json and the README
  --root <dir>           the workspace root (default: this repository)
  --help, -h             show this help

Exit codes: 0 created, 2 bad options or the folder exists.
`;

/** Where the command writes. */
export interface NewPackageIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Run the command with `argv`; `defaultRoot` is the workspace the package goes to without --root. Returns the exit code. */
export async function main(argv: readonly string[], io: NewPackageIo, defaultRoot: string): Promise<number> {
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: { kind: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' }, root: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new OptionError((error as Error).message, { hint: "Run 'pnpm --silent new-package --help' for the options." });
    }
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const { kind, name } = checkKindAndName(values.kind, values.name);
    if (values.description !== undefined && values.description.trim() === '') throw new OptionError('--description is empty.', { hint: 'Pass one sentence, or leave it out.' });
    const root = values.root ?? defaultRoot;
    const result = await createPackage({ root, kind, name, ...(values.description !== undefined ? { description: values.description } : {}) });
    const folder = relative(root, result.dir) || '.';
    io.stdout.write(`Created ${folder} (${result.packageName}):\n${result.files.map((f) => `  ${f}`).join('\n')}\n
Next:
  pnpm install                      # links the new package into the workspace
  cd ${folder} && pnpm test   # ${KIND_DESCRIPTIONS[kind].suite} passes as generated
  then make it yours: the implementation in src/, a row in the README's package table, the changeset's text.
`);
    return 0;
  } catch (error) {
    if (IcotError.is(error)) {
      io.stderr.write(`error: ${error.message}\n`);
      if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
      return 2;
    }
    throw error;
  }
}

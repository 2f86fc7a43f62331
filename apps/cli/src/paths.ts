import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { OptionError } from '@icot/core';

async function statOrUndefined(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/**
 * Check, before anything is loaded, that the command can write the file `path` (given with `flag`):
 * not a folder, in a folder that exists and is writable. Throws {@link OptionError} naming the
 * problem and the fix; returns the absolute path.
 */
export async function checkOutputFile(path: string, flag: string): Promise<string> {
  const absolute = resolve(path);
  const existing = await statOrUndefined(absolute);
  if (existing?.isDirectory())
    throw new OptionError(`${flag} ${path} is a folder; it needs a file name.`, { hint: `Name a file in it, e.g. ${flag} ${join(path, 'report.html')}.` });
  const folder = dirname(absolute);
  const parent = await statOrUndefined(folder);
  if (!parent) throw new OptionError(`${flag} ${path}: the folder ${folder} does not exist.`, { hint: `Create it first (mkdir -p ${folder}) or write the file somewhere else.` });
  if (!parent.isDirectory()) throw new OptionError(`${flag} ${path}: ${folder} is not a folder.`, { hint: 'Write the file into a folder.' });
  try {
    await access(existing ? absolute : folder, constants.W_OK);
  } catch {
    throw new OptionError(`${flag} ${path}: ${existing ? 'the file' : `the folder ${folder}`} is not writable.`, { hint: 'Write the file somewhere you have write access to.' });
  }
  return absolute;
}

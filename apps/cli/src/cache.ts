/**
 * `icot cache`: where downloads and tapped model copies are, what they hold, and deleting them.
 * @module
 */
import { parseArgs } from 'node:util';
import { OptionError } from '@icot/core';
import { hubCacheDir, icotCacheDir, isHubId, listTappedCopies, removeCachedRepo, removeTappedCopies, scanHubCache, tappedCopiesDir } from '@icot/hub';
import { formatBytes } from './progress.js';
import type { CommandIo } from './run.js';

/** Help of `icot cache`. */
export const CACHE_HELP = `Usage: icot cache <path|list|clear> [options]

Where icot keeps what it downloads and derives, what is there, and deleting it.

  icot cache path [downloads|tapped]
      print the folders: downloads (the Hugging Face hub cache, shared with Python tools
      and both backends) and tapped (decoder graphs with attention taps, for the
      transformers.js backend)
  icot cache list [--json]
      list downloaded models (revisions, the branches and tags pointing at them, sizes,
      interrupted downloads) and tapped copies
  icot cache clear <org/name>... | --downloads | --tapped | --all
      delete, without asking: the named models (every revision), every downloaded
      model (also those Python tools downloaded), every tapped copy, or both

Options
  --cache-dir <dir>   the hub cache (default $HF_HUB_CACHE, else $HF_HOME/hub, else
                      ~/.cache/huggingface/hub)
  --json              list as JSON

Tapped copies live in $ICOT_CACHE_DIR/tapped (default ~/.cache/icot/tapped); copies unused
for 14 days are deleted automatically.
`;

const SPEC = {
  'cache-dir': { type: 'string' },
  json: { type: 'boolean' },
  downloads: { type: 'boolean' },
  tapped: { type: 'boolean' },
  all: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(args: readonly string[]): { values: Partial<Record<keyof typeof SPEC, string | boolean>>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: SPEC, strict: true, allowPositionals: true });
    return { values, positionals };
  } catch (error) {
    throw new OptionError((error as Error).message.replace(/\. To specify.*$/s, '.'), { hint: "Run 'icot cache --help' for the options." });
  }
}

function onlyFlags(sub: string, values: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(values).filter((k) => values[k] !== undefined && !allowed.includes(k));
  if (extra.length) throw new OptionError(`icot cache ${sub} does not take --${extra.join(', --')}.`, { hint: "Run 'icot cache --help' for the options." });
}

async function list(io: CommandIo, hubDir: string, json: boolean): Promise<void> {
  const [repos, copies] = await Promise.all([scanHubCache(hubDir), listTappedCopies()]);
  const tappedDir = tappedCopiesDir();
  if (json) {
    io.stdout.write(
      `${JSON.stringify({
        downloads: { dir: hubDir, repos },
        tapped: {
          dir: tappedDir,
          copies: copies.map((c) => ({ key: c.key, dir: c.dir, size: c.size, lastUsed: c.lastUsed.toISOString(), ...(c.made ? { made: c.made } : { legacy: true }) })),
        },
      })}\n`,
    );
    return;
  }
  const total = repos.reduce((sum, r) => sum + r.size + r.incompleteBytes, 0);
  const lines = [`Downloads in ${hubDir}: ${repos.length} model${repos.length === 1 ? '' : 's'}, ${formatBytes(total)}`];
  for (const repo of repos) {
    lines.push(`  ${repo.repoId}  ${formatBytes(repo.size)}${repo.incompleteBytes ? ` (+ ${formatBytes(repo.incompleteBytes)} of interrupted downloads)` : ''}`);
    for (const revision of repo.revisions)
      lines.push(`    ${revision.commit.slice(0, 12)}  ${revision.refs.length ? revision.refs.join(', ') : '(no branch or tag)'}  ${revision.files} files, ${formatBytes(revision.size)}`);
  }
  const tappedTotal = copies.reduce((sum, c) => sum + c.size, 0);
  lines.push(`Tapped copies in ${tappedDir}: ${copies.length}, ${formatBytes(tappedTotal)}`);
  for (const copy of copies)
    lines.push(
      `  ${copy.key.slice(0, 12)}  ${formatBytes(copy.size)}  last used ${copy.lastUsed.toISOString().slice(0, 10)}  ${copy.made ? `from ${copy.made.source}` : '(left by an older icot; deleted on the next load)'}`,
    );
  io.stdout.write(`${lines.join('\n')}\n`);
}

async function clear(io: CommandIo, hubDir: string, values: Record<string, unknown>, targets: readonly string[]): Promise<void> {
  const downloads = values['downloads'] === true || values['all'] === true;
  const tapped = values['tapped'] === true || values['all'] === true;
  if (!downloads && !tapped && !targets.length)
    throw new OptionError('icot cache clear needs to be told what to delete.', {
      hint: 'Name models (icot cache clear org/name), or pass --downloads, --tapped or --all; see icot cache list.',
    });
  for (const target of targets) if (!isHubId(target)) throw new OptionError(`'${target}' is not a model id (org/name).`, { hint: 'See icot cache list for the cached models.' });
  const lines: string[] = [];
  if (downloads) {
    const repos = await scanHubCache(hubDir);
    for (const repo of repos) await removeCachedRepo(repo.repoId, hubDir);
    lines.push(`icot: deleted ${repos.length} downloaded model${repos.length === 1 ? '' : 's'} (${formatBytes(repos.reduce((s, r) => s + r.size + r.incompleteBytes, 0))}) from ${hubDir}`);
  } else
    for (const target of targets) {
      const removed = await removeCachedRepo(target, hubDir);
      lines.push(removed ? `icot: deleted ${target} from ${hubDir}` : `icot: ${target} was not in ${hubDir}`);
    }
  if (tapped) {
    const count = await removeTappedCopies();
    lines.push(`icot: deleted ${count} tapped cop${count === 1 ? 'y' : 'ies'} from ${tappedCopiesDir()}`);
  }
  io.stderr.write(`${lines.join('\n')}\n`);
}

/** `icot cache ...`; returns the exit code. */
export async function cacheCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args);
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined || sub === 'help') {
    io.stdout.write(CACHE_HELP);
    return 0;
  }
  const hubDir = (values['cache-dir'] as string | undefined) ?? hubCacheDir();
  if (sub === 'path') {
    onlyFlags('path', values, ['cache-dir']);
    const folders = { downloads: hubDir, tapped: tappedCopiesDir() };
    if (rest.length > 1 || (rest[0] !== undefined && !(rest[0] in folders)))
      throw new OptionError(`icot cache path takes 'downloads' or 'tapped', not '${rest.join(' ')}'.`, { hint: 'Run icot cache path for both folders.' });
    const which = rest[0] as keyof typeof folders | undefined;
    io.stdout.write(which ? `${folders[which]}\n` : `downloads  ${folders.downloads}\ntapped     ${folders.tapped}\nicot cache ${icotCacheDir()}\n`);
    return 0;
  }
  if (sub === 'list') {
    onlyFlags('list', values, ['cache-dir', 'json']);
    if (rest.length) throw new OptionError(`icot cache list takes no arguments (got '${rest.join(' ')}').`);
    await list(io, hubDir, values.json === true);
    return 0;
  }
  if (sub === 'clear') {
    onlyFlags('clear', values, ['cache-dir', 'downloads', 'tapped', 'all']);
    if ((values['downloads'] === true || values['all'] === true) && rest.length) throw new OptionError('Name models, or pass --downloads / --all, not both.');
    await clear(io, hubDir, values, rest);
    return 0;
  }
  throw new OptionError(`Unknown cache command '${sub}'.`, { hint: 'Use icot cache path, icot cache list or icot cache clear.' });
}

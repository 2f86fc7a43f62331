import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { blockName, documentationBlocks, missingExcerptLines, runShell, SHELL_LANGS, typecheckBlocks, TYPESCRIPT_LANGS } from '../src/index.js';

// The code blocks of docs/**/*.md and the README:
// - ```ts (or ```js)            type-checked as a TypeScript module against the workspace packages (sources);
// - ```ts excerpt=<path>       copied from a tested file: every line of code must be in it;
// - ```sh run [exit=N]         run with bash in the repository root (on the demo model or generated
//                              tiny models), must exit N (default 0); other shell blocks are examples
//                              that need real models, downloads or your files, and say so.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const blocks = await documentationBlocks(root);
const typescript = blocks.filter((b) => TYPESCRIPT_LANGS.has(b.lang));
const runnable = blocks.filter((b) => SHELL_LANGS.has(b.lang) && b.flags.has('run'));

describe('documentation code blocks', () => {
  it('use only the flags the checks know', () => {
    const known: Record<string, readonly string[]> = { ts: ['excerpt'], typescript: ['excerpt'], js: ['excerpt'], javascript: ['excerpt'], mjs: ['excerpt'], sh: ['run', 'exit'], bash: ['run', 'exit'], shell: ['run', 'exit'] };
    const unknown = blocks.flatMap((b) => [...b.flags.keys()].filter((flag) => !(known[b.lang] ?? []).includes(flag)).map((flag) => `${blockName(b)}: ${b.lang} ${flag}`));
    expect(unknown).toEqual([]);
  });

  it('type-check: every TypeScript block of the guides and the README, against the workspace packages', () => {
    const checked = typescript.filter((b) => !b.flags.has('excerpt'));
    expect(checked.length).toBeGreaterThanOrEqual(3);
    const errors = typecheckBlocks(checked, root, packageDir).map((d) => `${d.block} (+${d.line}): ${d.message}`);
    expect(errors).toEqual([]);
  }, 180_000);

  it('excerpts: every line of code of an excerpt is in the tested file it names', async () => {
    const excerpts = typescript.filter((b) => b.flags.has('excerpt'));
    const missing: string[] = [];
    for (const block of excerpts) missing.push(...missingExcerptLines(block, await readFile(join(root, block.flags.get('excerpt')!), 'utf8')));
    expect(missing).toEqual([]);
  });

  it('has shell blocks marked run', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(5);
  });

  for (const block of runnable)
    it(`runs ${blockName(block)}: ${block.code.split('\n')[0]!.slice(0, 80)}`, async () => {
      const expected = Number(block.flags.get('exit') || 0);
      const result = await runShell(block.code, root, 170_000, { CI: 'true' });
      expect(result.timedOut, 'timed out').toBe(false);
      expect(result.code, `exit code of\n${block.code}\nstdout:\n${result.stdout.slice(-3000)}\nstderr:\n${result.stderr.slice(-3000)}`).toBe(expected);
    }, 180_000);
});

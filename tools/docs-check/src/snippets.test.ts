import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codeBlocks } from './snippets.js';
import { missingExcerptLines } from './excerpts.js';
import { typecheckBlocks } from './typecheck.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('code blocks', () => {
  it('reads fences, languages and flags', () => {
    const md = 'text\n```ts\nconst a = 1;\n```\n\n~~~sh run exit=2\nfalse\n~~~\n````md\n```ts\nnot a block\n```\n````\n';
    const blocks = codeBlocks(md, 'x.md');
    expect(blocks.map((b) => [b.line, b.lang, [...b.flags], b.code])).toEqual([
      [2, 'ts', [], 'const a = 1;'],
      [6, 'sh', [['run', ''], ['exit', '2']], 'false'],
      [9, 'md', [], '```ts\nnot a block\n```'],
    ]);
  });

  it('type-checking finds a wrong call and a missing export, with the line in the block', () => {
    const [good, bad] = codeBlocks(
      "```ts\nimport { createSignalTrigger } from '@icot/core';\ncreateSignalTrigger({ every: 2 });\n```\n```ts\nimport { createSignalTrigger, nothing } from '@icot/core';\n\ncreateSignalTrigger({ every: 'two' });\n```\n",
      'x.md',
    );
    const errors = typecheckBlocks([good!, bad!], root, packageDir);
    expect(errors.filter((e) => e.block === 'x.md:1')).toEqual([]);
    expect(errors.map((e) => [e.block, e.line])).toEqual([
      ['x.md:5', 1],
      ['x.md:5', 3],
    ]);
  }, 120_000);

  it('an excerpt must match its source, elisions and trailing comments aside', () => {
    const [block] = codeBlocks('```ts excerpt=s.ts\nconst a = f(); // shown\nconst b = /* ... */;\nconst c = 3;\n```\n', 'x.md');
    expect(missingExcerptLines(block!, 'const a = f();\nconst b = g();\n')).toEqual(['x.md:1: const c = 3;']);
  });
});

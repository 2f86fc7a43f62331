import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** A fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The language: the info string's first word (`ts`, `sh`, ...), lower-cased; empty when none. */
  readonly lang: string;
  /**
   * The info string's other words: flags (`run`) and settings (`exit=2`, `excerpt=path`) that
   * tell the checks what to do with the block.
   */
  readonly flags: ReadonlyMap<string, string>;
  readonly code: string;
}

/** Languages whose blocks are type-checked (JavaScript blocks too: the examples are written to type-check as TypeScript). */
export const TYPESCRIPT_LANGS: ReadonlySet<string> = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
/** Languages whose blocks marked `run` are run with bash. */
export const SHELL_LANGS: ReadonlySet<string> = new Set(['sh', 'bash', 'shell']);

/** The fenced code blocks of one Markdown text (``` and ~~~ fences, any indentation up to 3 spaces). */
export function codeBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const [lang = '', ...words] = open[2]!.trim().split(/\s+/).filter(Boolean);
    const flags = new Map<string, string>();
    for (const word of words) {
      const eq = word.indexOf('=');
      flags.set(eq < 0 ? word : word.slice(0, eq), eq < 0 ? '' : word.slice(eq + 1));
    }
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
      if (close.test(lines[j]!)) break;
      body.push(lines[j]!);
    }
    blocks.push({ file, line: i + 1, lang: lang.toLowerCase(), flags, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** The Markdown files the checks read: `docs/**\/*.md` and the top-level README, relative to `root`. */
export async function documentationFiles(root: string): Promise<string[]> {
  const found: string[] = ['README.md'];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'api') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.md')) found.push(relative(root, path));
    }
  };
  await walk(join(root, 'docs'));
  return found.sort();
}

/** Every code block of the documentation files under `root`. */
export async function documentationBlocks(root: string): Promise<CodeBlock[]> {
  const blocks: CodeBlock[] = [];
  for (const file of await documentationFiles(root)) blocks.push(...codeBlocks(await readFile(join(root, file), 'utf8'), file));
  return blocks;
}

/** Where a block is, for messages: `docs/guide.md:12`. */
export function blockName(block: CodeBlock): string {
  return `${block.file}:${block.line}`;
}

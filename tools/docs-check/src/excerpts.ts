import { blockName, type CodeBlock } from './snippets.js';

/** A line's code without a trailing `// comment` and surrounding blanks. */
function codeOf(line: string): string {
  const comment = line.search(/\s\/\/\s/);
  return (comment < 0 ? line : line.slice(0, comment)).trim();
}

/** Lines of an excerpt that elide code (`...`, `/* ... *\/`), and lines with no code, are not compared. */
function elided(code: string): boolean {
  return code === '' || code.startsWith('//') || code.startsWith('/*') || code.startsWith('*') || code.includes('...') || code.includes('/* ');
}

/**
 * The lines of an excerpt block (info string `ts excerpt=<path>`) that are not in `source`, the
 * file it was copied from: each line of code (trailing comments, blanks and elisions aside) must
 * be a line of the source. Keeps copied examples from drifting from the tested code.
 */
export function missingExcerptLines(block: CodeBlock, source: string): string[] {
  const lines = new Set(source.split('\n').map(codeOf));
  return block.code
    .split('\n')
    .map(codeOf)
    .filter((code) => !elided(code) && !lines.has(code))
    .map((code) => `${blockName(block)}: ${code}`);
}

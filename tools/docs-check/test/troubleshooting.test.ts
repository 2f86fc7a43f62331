import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readErrorCatalogue } from '../src/index.js';

// docs/troubleshooting.md has one section per error code of @icot/core, read from the code: a code
// added to IcotErrorCode (or a new error class) without a troubleshooting entry fails here.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const catalogue = readErrorCatalogue(join(root, 'packages', 'core', 'src', 'errors.ts'));
const guide = await readFile(join(root, 'docs', 'troubleshooting.md'), 'utf8');

/** The sections of the guide headed `### \`code\``, by code. */
function sections(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  const parts = markdown.split(/^### /m).slice(1);
  for (const part of parts) {
    const heading = /^`([a-z-]+)`/.exec(part);
    if (heading) found.set(heading[1]!, part.split(/^## /m)[0]!);
  }
  return found;
}

describe('docs/troubleshooting.md', () => {
  const entries = sections(guide);

  it('reads the codes and classes from @icot/core', () => {
    expect(catalogue.codes.length).toBeGreaterThanOrEqual(11);
    expect(catalogue.classes.length).toBeGreaterThanOrEqual(10);
    for (const c of catalogue.classes) expect(catalogue.codes, c.name).toContain(c.code);
  });

  it('has a section for every error code, and none for a code that does not exist', () => {
    expect([...entries.keys()].sort()).toEqual([...catalogue.codes].sort());
  });

  it("names each code's error classes and gives a fix", () => {
    for (const code of catalogue.codes) {
      const section = entries.get(code) ?? '';
      for (const c of catalogue.classes.filter((c) => c.code === code)) expect(section, `${code}: ${c.name}`).toContain(`\`${c.name}\``);
      expect(section, `${code}: a **Fix** paragraph`).toMatch(/\*\*Fix/);
    }
  });
});

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = dirname(fileURLToPath(import.meta.url));

/** Every module `entry` loads at runtime (type-only imports do not load anything), and the packages they import. */
function runtimeGraph(entry: string): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (modules.has(file)) return;
    modules.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
      const spec = match[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(join(src, entry));
  return { modules, packages };
}

describe('entry points', () => {
  it('@icot/families (pure family logic) never loads image code', () => {
    const { modules, packages } = runtimeGraph('index.ts');
    expect([...packages].sort()).toEqual(['@icot/core']);
    expect([...modules].filter((m) => /preprocess|resample|pixel-table/.test(m))).toEqual([]);
  });

  it('@icot/families/preprocess holds the pixel code', () => {
    expect(runtimeGraph('preprocess.ts').packages).toContain('@icot/image');
  });
});

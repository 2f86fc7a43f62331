import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchorsOf, brokenLinks, documentationFiles } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('documentation links', () => {
  it('computes GitHub heading anchors', () => {
    expect([...anchorsOf('# Getting started\n## The `icot` command: run, cache\n```sh\n# not a heading\n```\n## Getting started\n')]).toEqual([
      'getting-started',
      'the-icot-command-run-cache',
      'getting-started-1',
    ]);
  });

  it('every relative link of docs/ and the README reaches a file, and its #anchor a heading', async () => {
    const broken = (await documentationFiles(root)).flatMap((file) => brokenLinks(root, file));
    expect(broken).toEqual([]);
  });
});

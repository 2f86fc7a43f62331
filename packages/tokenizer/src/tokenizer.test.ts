import { mkdtemp, writeFile, cp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFilesError } from '@icot/core';
import { fixturePath, loadOracle } from '@icot/testing';
import { loadTokenizer } from './node.js';

const oracle = loadOracle('tiny-qwen2-vl');

describe('HfTokenizer', () => {
  it('tokenizes the fixture prompt exactly like the reference', async () => {
    const tok = await loadTokenizer(fixturePath('tiny-qwen2-vl'));
    const expanded = oracle.prompt_text.replace('<|image_pad|>', '<|image_pad|>'.repeat(64));
    expect(tok.encode(expanded)).toEqual(oracle.input_ids);
    expect(tok.decode(oracle.tokens)).toBe(oracle.text);
    expect(tok.tokenToId('<|image_pad|>')).toBe(486);
    expect(tok.idToToken(483)).toBe('<|vision_start|>');
  });

  it('renders the chat template to the reference prompt', async () => {
    const tok = await loadTokenizer(fixturePath('tiny-qwen2-vl'));
    const question = oracle.prompt_text.split('<|vision_end|>')[1]!.split('<|im_end|>')[0]!;
    const text = tok.applyChatTemplate([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }]);
    expect(text).toBe(oracle.prompt_text);
  });

  it('names missing tokenizer files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'icot-tok-'));
    try {
      await cp(fixturePath('tiny-qwen2-vl', 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
      await expect(loadTokenizer(dir)).rejects.toThrow(ModelFilesError);
      await expect(loadTokenizer(dir)).rejects.toThrow(/tokenizer\.json/);
      await writeFile(join(dir, 'tokenizer.json'), '{"truncated":');
      await expect(loadTokenizer(dir)).rejects.toThrow(/not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

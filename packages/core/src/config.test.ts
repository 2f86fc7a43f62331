import { describe, expect, it } from 'vitest';
import { configFields } from './config.js';

describe('configFields', () => {
  it('reads text fields from text_config first (as transformers does), the top level otherwise', () => {
    const nested = configFields({ hidden_size: 1, vocab_size: 7, text_config: { hidden_size: 64 }, image_token_id: 5 });
    expect(nested.text('hidden_size')).toBe(64);
    expect(nested.text('vocab_size')).toBe(7); // missing from text_config: the top level
    expect(configFields({ hidden_size: 32 }).textNumber('hidden_size')).toBe(32);
  });

  it('reads composite-model fields from the top level first', () => {
    const c = configFields({ image_token_id: 5, text_config: { image_token_id: 9, eos_token_id: 2 } });
    expect(c.top('image_token_id')).toBe(5);
    expect(c.top('eos_token_id')).toBe(2);
    expect(c.topNumber('missing')).toBeUndefined();
    expect(configFields({ text_config: 'not an object', hidden_size: 3 }).textNumber('hidden_size')).toBe(3);
  });
});

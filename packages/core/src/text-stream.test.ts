import { describe, expect, it } from 'vitest';
import type { TokenizerV1 } from './spec/model.js';
import { TextStreamer } from './text-stream.js';

// A byte-level tokenizer: token id = one byte.
const bytes: TokenizerV1 = {
  encode: (t) => Array.from(new TextEncoder().encode(t)),
  decode: (ids) => new TextDecoder().decode(Uint8Array.from(ids)),
  tokenToId: () => undefined,
};

describe('TextStreamer', () => {
  it('emits text as it becomes complete and holds back partial UTF-8', () => {
    const s = new TextStreamer(bytes);
    const ids = bytes.encode('é\nab');
    const out = ids.map((id) => s.push(id));
    expect(out).toEqual(['', 'é', '\n', 'a', 'b']);
    expect(out.join('') + s.flush()).toBe('é\nab');
  });

  it('flush returns held-back text', () => {
    const s = new TextStreamer(bytes);
    s.push(0xc3);
    expect(s.flush()).toBe('\uFFFD');
  });
});

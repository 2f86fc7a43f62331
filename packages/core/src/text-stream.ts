import type { TokenizerV1 } from './spec/model.js';

/**
 * Turns a stream of token ids into text deltas. Holds text back while it ends in an incomplete
 * UTF-8 sequence, and re-decodes only the tokens since the last line break.
 */
export class TextStreamer {
  private readonly tokenizer: TokenizerV1;
  private tokens: number[] = [];
  private printed = 0;

  constructor(tokenizer: TokenizerV1) {
    this.tokenizer = tokenizer;
  }

  /** Add a token; returns the text that became final (possibly empty). */
  push(token: number): string {
    this.tokens.push(token);
    const text = this.tokenizer.decode(this.tokens);
    if (text.endsWith('\uFFFD')) return '';
    const delta = text.slice(this.printed);
    if (text.endsWith('\n')) {
      this.tokens = [];
      this.printed = 0;
    } else {
      this.printed = text.length;
    }
    return delta;
  }

  /** Text still held back (e.g. a trailing incomplete character). */
  flush(): string {
    const text = this.tokens.length ? this.tokenizer.decode(this.tokens) : '';
    const delta = text.slice(this.printed);
    this.tokens = [];
    this.printed = 0;
    return delta;
  }
}

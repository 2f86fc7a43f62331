import { describe, expect, it } from 'vitest';
import { shellCommand } from './make.js';

describe('shellCommand', () => {
  it('quotes words with spaces or quotes so a POSIX shell gives the same words back', () => {
    expect(shellCommand(['icot', 'run', '--model', '/tmp/a b', '--question', "What's in it?", '--signal-token-ids', '1,2'])).toBe(
      `icot run --model '/tmp/a b' --question 'What'\\''s in it?' --signal-token-ids 1,2`,
    );
  });
});

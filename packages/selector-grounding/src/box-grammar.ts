import type { TokenizerV1 } from '@icot/core';

/**
 * One element of a box grammar: a literal character, a number, an optional space, or the closing
 * special token. A number is written in decimal without leading zeros, from `min` (or one more
 * than the `above`-th number written before it, whichever is larger) to `max`.
 */
export type GrammarElement =
  | { readonly kind: 'literal'; readonly char: string }
  | { readonly kind: 'number'; readonly max: number; readonly min?: number; readonly above?: number }
  | { readonly kind: 'space' }
  | { readonly kind: 'end' };

/** A box answer as a sequence of elements (matched left to right; the only alternative is an optional space). */
export type BoxGrammar = readonly GrammarElement[];

/** Where a grammar stands: the element being matched, the digits read of a number, and the numbers written so far. */
export interface GrammarState {
  readonly element: number;
  readonly digits: string;
  readonly values: readonly number[];
}

const lit = (char: string): GrammarElement => ({ kind: 'literal', char });
const SPACE: GrammarElement = { kind: 'space' };

/**
 * `(x1,y1),(x2,y2)` in [0, 1000) coordinates with `x2 > x1` and `y2 > y1` (a box with an area),
 * then the closing special token when `end` (Qwen2-VL's `<|box_end|>`).
 */
export function pointPairGrammar(end: boolean): BoxGrammar {
  return [
    lit('('),
    { kind: 'number', max: 998 },
    lit(','),
    { kind: 'number', max: 998 },
    lit(')'),
    lit(','),
    lit('('),
    { kind: 'number', max: 999, above: 0 },
    lit(','),
    { kind: 'number', max: 999, above: 1 },
    lit(')'),
    ...(end ? [{ kind: 'end' } as const] : []),
  ];
}

/**
 * `x1, y1, x2, y2]`: the rest of a JSON `"bbox_2d": [` list (Qwen2.5-VL), pixels of a `width x
 * height` image with `x2 > x1` and `y2 > y1`; the spaces after the commas are optional.
 */
export function bboxListGrammar(width: number, height: number): BoxGrammar {
  return [
    { kind: 'number', max: width - 1 },
    lit(','),
    SPACE,
    { kind: 'number', max: height - 1 },
    lit(','),
    SPACE,
    { kind: 'number', max: width, above: 0 },
    lit(','),
    SPACE,
    { kind: 'number', max: height, above: 1 },
    lit(']'),
  ];
}

/** The start of a grammar. */
export const GRAMMAR_START: GrammarState = { element: 0, digits: '', values: [] };

/** The range a number element allows, given the numbers written before it. */
function rangeOf(e: Extract<GrammarElement, { kind: 'number' }>, values: readonly number[]): [number, number] {
  const low = Math.max(e.min ?? 0, e.above !== undefined ? values[e.above]! + 1 : 0);
  return [low, e.max];
}

/** Whether some number starting with `digits` (no leading zeros, at most `maxDigits` long) lies in [low, high]. */
function reachable(digits: string, maxDigits: number, low: number, high: number): boolean {
  if (digits.length > 1 && digits[0] === '0') return false;
  let from = Number(digits);
  let span = 1;
  for (let length = digits.length; length <= maxDigits; length++) {
    if (from <= high && from + span - 1 >= low) return true;
    if (digits === '0') return false; // "0" cannot be extended
    from *= 10;
    span *= 10;
  }
  return false;
}

/** The state after reading `char`, or undefined when the grammar does not allow it there. */
export function readChar(grammar: BoxGrammar, state: GrammarState, char: string): GrammarState | undefined {
  let { element, digits, values } = state;
  while (element < grammar.length) {
    const e = grammar[element]!;
    if (e.kind === 'number') {
      const [low, high] = rangeOf(e, values);
      if (char >= '0' && char <= '9') {
        const next = digits + char;
        return reachable(next, String(e.max).length, low, high) ? { element, digits: next, values } : undefined;
      }
      if (digits === '' || Number(digits) < low || Number(digits) > high) return undefined;
      values = [...values, Number(digits)]; // the number is complete: the character must match what follows
      digits = '';
      element += 1;
      continue;
    }
    if (e.kind === 'space') {
      if (char === ' ') return { element: element + 1, digits: '', values };
      element += 1;
      continue;
    }
    if (e.kind === 'literal') return char === e.char ? { element: element + 1, digits: '', values } : undefined;
    return undefined; // the closing token is a token, not a character
  }
  return undefined;
}

/** The state after reading `text`, or undefined when the grammar does not allow it. */
export function readText(grammar: BoxGrammar, state: GrammarState, text: string): GrammarState | undefined {
  let s: GrammarState | undefined = state;
  for (const char of text) {
    s = readChar(grammar, s, char);
    if (!s) return undefined;
  }
  return s;
}

/** The state after the closing special token, or undefined when it is not allowed yet. */
export function readEnd(grammar: BoxGrammar, state: GrammarState): GrammarState | undefined {
  let { element, digits, values } = state;
  while (element < grammar.length) {
    const e = grammar[element]!;
    if (e.kind === 'end') return { element: element + 1, digits: '', values };
    if (e.kind === 'space') {
      element += 1;
      continue;
    }
    if (e.kind === 'number' && digits !== '') {
      const [low, high] = rangeOf(e, values);
      const value = Number(digits);
      if (value < low || value > high) return undefined;
      values = [...values, value];
      digits = '';
      element += 1;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** Whether the grammar is complete in `state`. */
export function isComplete(grammar: BoxGrammar, state: GrammarState): boolean {
  return state.element >= grammar.length;
}

/** A token the constrained decoder may choose: its id and its text (or the closing token). */
export interface GrammarToken {
  readonly id: number;
  /** The token's text; undefined for the closing special token. */
  readonly text?: string;
}

/** Texts tried as single tokens: digits and separators, alone and in the merges BPE vocabularies have. */
const TOKEN_TEXTS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '(', ')', ',', ' ', ']', '),(', '),', ',(', ', '];

/**
 * The tokens a constrained decoder chooses among: each digit and separator (alone, and merged as
 * BPE vocabularies have them: `),(`, `, ` ...) that the tokenizer writes as one token decoding back
 * to the same text, and the closing special token when given (its id). Found by encoding 19 short
 * strings: never a scan of the vocabulary.
 */
export function grammarTokens(tokenizer: TokenizerV1, endTokenId?: number): GrammarToken[] {
  const out: GrammarToken[] = [];
  const seen = new Set<number>();
  for (const text of TOKEN_TEXTS) {
    const ids = tokenizer.encode(text);
    if (ids.length !== 1 || seen.has(ids[0]!) || tokenizer.decode(ids) !== text) continue;
    seen.add(ids[0]!);
    out.push({ id: ids[0]!, text });
  }
  if (endTokenId !== undefined && !seen.has(endTokenId)) out.push({ id: endTokenId });
  return out;
}

/** The next state after `token`, or undefined when the grammar does not allow it in `state`. */
export function readToken(grammar: BoxGrammar, state: GrammarState, token: GrammarToken): GrammarState | undefined {
  return token.text === undefined ? readEnd(grammar, state) : readText(grammar, state, token.text);
}

/** Whether `tokens` can write every answer of `grammar` (each digit and each literal as a single-character token, and the closing token). */
export function canWrite(grammar: BoxGrammar, tokens: readonly GrammarToken[]): boolean {
  const texts = new Set(tokens.map((t) => t.text));
  const needs = new Set<string>('0123456789');
  for (const e of grammar) if (e.kind === 'literal') needs.add(e.char);
  for (const t of needs) if (!texts.has(t)) return false;
  return !grammar.some((e) => e.kind === 'end') || tokens.some((t) => t.text === undefined);
}

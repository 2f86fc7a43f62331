import { OptionError } from './errors.js';
import type { Random } from './random.js';

/** How the next token is chosen. Greedy (argmax) when `temperature` is 0 or absent. */
export interface SamplingOptions {
  /** Softmax temperature; 0 or undefined means greedy decoding. */
  readonly temperature?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches `topP`. */
  readonly topP?: number;
  /** Keep only the `topK` most likely tokens (0 = all). */
  readonly topK?: number;
  /**
   * Penalise tokens already in the context (prompt text and generated tokens), as in Hugging Face
   * transformers: positive logits are divided by it, negative ones multiplied. 1 = off.
   */
  readonly repetitionPenalty?: number;
  /** Seed of the random source (sampling is reproducible for a given seed). */
  readonly seed?: number;
}

/** Check sampling options; throws {@link OptionError} naming the bad value. */
export function validateSampling(options: SamplingOptions): void {
  const { temperature, topP, topK, repetitionPenalty } = options;
  if (temperature !== undefined && !(temperature >= 0 && Number.isFinite(temperature)))
    throw new OptionError(`temperature must be a finite number >= 0, got ${temperature}.`, { hint: 'Use 0 for greedy decoding or e.g. 0.8.' });
  if (topP !== undefined && !(topP > 0 && topP <= 1))
    throw new OptionError(`topP must be in (0, 1], got ${topP}.`, { hint: 'Use e.g. 0.9, or 1 to switch nucleus sampling off.' });
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0))
    throw new OptionError(`topK must be an integer >= 0, got ${topK}.`, { hint: 'Use 0 to switch top-k filtering off.' });
  if (repetitionPenalty !== undefined && !(repetitionPenalty > 0 && Number.isFinite(repetitionPenalty)))
    throw new OptionError(`repetitionPenalty must be > 0, got ${repetitionPenalty}.`, { hint: 'Use 1 to switch it off, or e.g. 1.1.' });
}

/**
 * Picks next tokens from logits. Reuses one scratch buffer of vocabulary size, so a step
 * allocates nothing that grows with the vocabulary.
 */
export class TokenSampler {
  private readonly options: SamplingOptions;
  private readonly suppressed: Uint8Array;
  private readonly scratch: Float32Array;
  private readonly order: Int32Array;
  private readonly penalised: Set<number> = new Set();

  constructor(vocabSize: number, options: SamplingOptions = {}, suppressedTokenIds: readonly number[] = []) {
    validateSampling(options);
    this.options = options;
    this.suppressed = new Uint8Array(vocabSize);
    for (const id of suppressedTokenIds) if (id >= 0 && id < vocabSize) this.suppressed[id] = 1;
    this.scratch = new Float32Array(vocabSize);
    this.order = new Int32Array(this.isGreedy ? 0 : vocabSize);
  }

  /** Whether this sampler decodes greedily. */
  get isGreedy(): boolean {
    return !this.options.temperature;
  }

  /** Record tokens in the context (for the repetition penalty). */
  observe(tokens: Iterable<number>): void {
    if ((this.options.repetitionPenalty ?? 1) === 1) return;
    for (const t of tokens) this.penalised.add(t);
  }

  /** Choose the next token from `logits` (length >= vocabulary size; extra entries are ignored). */
  sample(logits: Float32Array, random: Random): number {
    const vocab = this.scratch.length;
    const penalty = this.options.repetitionPenalty ?? 1;
    const work = this.scratch;
    work.set(logits.subarray(0, vocab));
    if (penalty !== 1) {
      for (const t of this.penalised) {
        const v = work[t]!;
        work[t] = v > 0 ? v / penalty : v * penalty;
      }
    }
    const suppressed = this.suppressed;
    if (this.isGreedy) {
      let best = -1;
      let bestValue = -Infinity;
      for (let i = 0; i < vocab; i++) {
        const v = work[i]!;
        if (v > bestValue && suppressed[i] === 0) {
          bestValue = v;
          best = i;
        }
      }
      return best < 0 ? 0 : best;
    }
    const temperature = this.options.temperature!;
    let count = 0;
    const order = this.order;
    for (let i = 0; i < vocab; i++) if (suppressed[i] === 0 && work[i]! > -Infinity) order[count++] = i;
    const view = order.subarray(0, count);
    view.sort((x, y) => work[y]! - work[x]!);
    let keep = count;
    const topK = this.options.topK ?? 0;
    if (topK > 0 && topK < keep) keep = topK;
    const max = work[view[0]!]!;
    let total = 0;
    for (let i = 0; i < keep; i++) {
      const p = Math.exp((work[view[i]!]! - max) / temperature);
      work[view[i]!] = p;
      total += p;
    }
    const topP = this.options.topP ?? 1;
    if (topP < 1) {
      let cumulative = 0;
      for (let i = 0; i < keep; i++) {
        cumulative += work[view[i]!]! / total;
        if (cumulative >= topP) {
          keep = i + 1;
          break;
        }
      }
      total = 0;
      for (let i = 0; i < keep; i++) total += work[view[i]!]!;
    }
    let r = random.next() * total;
    for (let i = 0; i < keep; i++) {
      r -= work[view[i]!]!;
      if (r < 0) return view[i]!;
    }
    return view[keep - 1]!;
  }
}

import { IcotError, ModelConfigError, OptionError } from './errors.js';
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

// Token order. Tokens are ranked by logit, larger first, and by id, lower first, among equal logits:
// the order a stable sort by logit gives, so top-k and top-p keep the same tokens as one.
//
// Weights. A token's weight is exp(y) rounded to float32, y = (logit - max) / temperature <= 0.
// Below y = -104 exp(y) rounds to 0 in float32 (its smallest subnormal is e^-103.28), so such
// tokens, like -Infinity, NaN and suppressed ones, get weight 0 and can never be drawn.
//
// Bins. Each sampling step splits the logit distances from the largest logit, [0, span] with
// span = min(max - min, 104 * temperature), into WEIGHT_BINS equal bins (bin WEIGHT_BINS holds the
// weight-0 tokens). Bins follow the token order: a token in a lower bin ranks before every token
// in a higher one. Top-k counts tokens per bin, top-p sums weights per bin; a scan of the bins
// finds the one bin where the cut falls, and only that bin's tokens are ordered (partition-based
// selection, expected linear, O(n log n) at worst). The candidates above the cut's bin provably
// hold less than topP of the mass (or fewer than topK tokens), and those through it at least that
// much. Every step is O(V) (V = vocabulary size) with no sort of the vocabulary.
//
// The bins also give exp: exp(y) = exp(-b * delta) * exp(r), with a table of exp(-b * delta) per
// step (delta = one bin in units of y, at most 104 / 4096) and a degree-5 polynomial for exp(r),
// |r| <= delta: relative error below 1e-12, far under float32 rounding (6e-8), without Math.exp.

/** Below this scaled logit, exp() rounds to 0 in float32. */
const MIN_SCALED_LOGIT = -104;
/** Bins of the cut search (the last bin, index WEIGHT_BINS, holds weight-0 tokens). */
const WEIGHT_BINS = 4096;
/** Partition-based selection finishes ranges this short with an insertion sort. */
const SMALL_RANGE = 24;

/** Whether token `a` ranks before token `b` (larger logit, then lower id). */
function before(x: Float32Array, a: number, b: number): boolean {
  const xa = x[a]!;
  const xb = x[b]!;
  return xa > xb || (xa === xb && a < b);
}

/**
 * Partition `ids[lo, hi)` (hi - lo >= 3) around a median-of-three pivot in token order: returns
 * the pivot's final index p, with every id ranked before it in `[lo, p)` and every other in `(p, hi)`.
 */
function partition(ids: Int32Array, lo: number, hi: number, x: Float32Array): number {
  const mid = lo + ((hi - lo) >> 1);
  const last = hi - 1;
  // order ids[lo], ids[mid], ids[last]; the median goes to `last` as the pivot
  if (before(x, ids[mid]!, ids[lo]!)) swap(ids, mid, lo);
  if (before(x, ids[last]!, ids[lo]!)) swap(ids, last, lo);
  if (before(x, ids[last]!, ids[mid]!)) swap(ids, last, mid);
  swap(ids, mid, last);
  const pivot = ids[last]!;
  const xp = x[pivot]!;
  let store = lo;
  for (let i = lo; i < last; i++) {
    const id = ids[i]!;
    const xi = x[id]!;
    if (xi > xp || (xi === xp && id < pivot)) {
      ids[i] = ids[store]!;
      ids[store++] = id;
    }
  }
  ids[last] = ids[store]!;
  ids[store] = pivot;
  return store;
}

function swap(ids: Int32Array, i: number, j: number): void {
  const t = ids[i]!;
  ids[i] = ids[j]!;
  ids[j] = t;
}

/** Sort `ids[lo, hi)` in token order (insertion sort, for short ranges). */
function insertionSort(ids: Int32Array, lo: number, hi: number, x: Float32Array): void {
  for (let i = lo + 1; i < hi; i++) {
    const id = ids[i]!;
    let j = i - 1;
    while (j >= lo && before(x, id, ids[j]!)) {
      ids[j + 1] = ids[j]!;
      j--;
    }
    ids[j + 1] = id;
  }
}

/** Sort `ids[lo, hi)` in token order in O(n log n) (the fallback when selection keeps picking bad pivots). */
function sortRange(ids: Int32Array, lo: number, hi: number, x: Float32Array): void {
  ids.subarray(lo, hi).sort((a, b) => (before(x, a, b) ? -1 : before(x, b, a) ? 1 : 0));
}

/** Whether `ids[lo, hi)` is already in token order (as gathered ids of equal logits are). */
function isOrdered(ids: Int32Array, lo: number, hi: number, x: Float32Array): boolean {
  for (let i = lo + 1; i < hi; i++) if (before(x, ids[i]!, ids[i - 1]!)) return false;
  return true;
}

/** Pivot rounds before selection falls back to sorting (introselect): O(n log n) worst case. */
function pivotBudget(n: number): number {
  return 2 * Math.ceil(Math.log2(n + 1)) + 8;
}

/** Reorder `ids[lo, hi)` so that its first `count` entries are the best `count` in token order (in any order). */
function selectBest(ids: Int32Array, lo: number, hi: number, count: number, x: Float32Array): void {
  const end = lo + count;
  if (isOrdered(ids, lo, hi, x)) return;
  let budget = pivotBudget(hi - lo);
  while (hi - lo > SMALL_RANGE) {
    if (budget-- === 0) {
      sortRange(ids, lo, hi, x);
      return;
    }
    const p = partition(ids, lo, hi, x);
    if (p === end || p + 1 === end) return;
    if (p > end) hi = p;
    else lo = p + 1;
  }
  insertionSort(ids, lo, hi, x);
}

/**
 * Reorder `ids[lo, hi)` so that its first m entries are the shortest prefix in token order whose
 * weight reaches `target` (all of them when none does); returns m. The selected weight is left in
 * `out.mass`.
 */
function selectMass(ids: Int32Array, lo: number, hi: number, target: number, x: Float32Array, w: Float32Array, out: { mass: number }): number {
  const start = lo;
  let mass = 0;
  let budget = isOrdered(ids, lo, hi, x) ? 0 : pivotBudget(hi - lo);
  while (hi - lo > SMALL_RANGE && budget > 0) {
    budget--;
    const p = partition(ids, lo, hi, x);
    let upper = 0;
    for (let i = lo; i < p; i++) upper += w[ids[i]!]!;
    if (mass + upper >= target) {
      hi = p;
      continue;
    }
    mass += upper + w[ids[p]!]!;
    if (mass >= target) {
      out.mass = mass;
      return p + 1 - start;
    }
    lo = p + 1;
  }
  if (!isOrdered(ids, lo, hi, x)) {
    if (hi - lo > SMALL_RANGE) sortRange(ids, lo, hi, x);
    else insertionSort(ids, lo, hi, x);
  }
  for (let i = lo; i < hi; i++) {
    mass += w[ids[i]!]!;
    if (mass >= target) {
      out.mass = mass;
      return i + 1 - start;
    }
  }
  out.mass = mass;
  return hi - start;
}

/** Largest logit, and smallest one above -Infinity (NaN is skipped by both). */
function logitRange(x: Float32Array, vocab: number): { max: number; min: number } {
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < vocab; i++) {
    const v = x[i]!;
    if (v > max) max = v;
    if (v < min && v > -Infinity) min = v;
  }
  return { max, min };
}

/** How one sampling step maps logits to bins and weights. */
interface BinScale {
  readonly max: number;
  /** Bins per unit of logit distance from `max`. */
  readonly scale: number;
  /** One bin in units of scaled logit. */
  readonly delta: number;
  /** exp(-b * delta) for each bin b. */
  readonly table: Float64Array;
}

/**
 * Write each token's weight to `w` (and, when `bins` is given, its bin to `bins`, and per bin the
 * number of tokens and their weight); returns the sum of all weights.
 */
function weigh(x: Float32Array, vocab: number, s: BinScale, w: Float32Array, bins?: Uint16Array, counts?: Int32Array, binMass?: Float64Array): number {
  const { max, scale, delta, table } = s;
  let total = 0;
  for (let i = 0; i < vocab; i++) {
    const t = (max - x[i]!) * scale; // NaN for NaN logits, Infinity for -Infinity
    let bin = WEIGHT_BINS;
    let wi = 0;
    if (t <= WEIGHT_BINS) {
      bin = t | 0;
      if (bin === WEIGHT_BINS) bin--;
      const r = (bin - t) * delta;
      wi = Math.fround(table[bin]! * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))))));
      total += wi;
    }
    w[i] = wi;
    if (bins) {
      bins[i] = bin;
      counts![bin]! += 1;
      binMass![bin]! += wi;
    }
  }
  return total;
}

/**
 * Picks next tokens from logits. Greedy decoding is one pass over the logits; sampling (temperature,
 * top-k, top-p, repetition penalty, suppressed tokens) is O(V) per token with no sort of the
 * vocabulary, and draws from the distribution of "sort by logit (ties: lower id first), keep the
 * top k, softmax with float32 weights, keep the shortest prefix reaching topP, renormalise". Buffers of vocabulary size are allocated
 * once; a step allocates nothing that grows with the vocabulary. Sampling takes one number from
 * `random` per token, so a seed gives the same tokens on every run.
 */
export class TokenSampler {
  private readonly options: SamplingOptions;
  private readonly vocab: number;
  private readonly suppressedIds: readonly number[];
  private readonly penalised: Set<number> = new Set();
  /** Logits after suppression and the repetition penalty. */
  private readonly work: Float32Array;
  /** Token weights of the last sampling step (see above). */
  private readonly weights: Float32Array;
  /** Bin of each token, written by the passes that need bins. */
  private readonly bins: Uint16Array;
  private readonly binCounts = new Int32Array(WEIGHT_BINS + 1);
  private readonly binMass = new Float64Array(WEIGHT_BINS + 1);
  private readonly expTable = new Float64Array(WEIGHT_BINS + 1);
  /** Token ids of the bins the cuts fall in. */
  private readonly candidates: Int32Array;
  private readonly selected = { mass: 0 };
  /** The draw set of the last {@link select}: tokens with `bins[i] < above`, then `candidates[0, listLength)`. */
  private above = 0;
  private massAbove = 0;
  private listLength = 0;
  private listMass = 0;

  constructor(vocabSize: number, options: SamplingOptions = {}, suppressedTokenIds: readonly number[] = []) {
    validateSampling(options);
    if (!(Number.isInteger(vocabSize) && vocabSize > 0))
      throw new OptionError(`vocabSize must be an integer > 0, got ${vocabSize}.`, { hint: "Pass the model's vocabSize." });
    this.options = options;
    this.vocab = vocabSize;
    this.suppressedIds = [...new Set(suppressedTokenIds.filter((id) => Number.isInteger(id) && id >= 0 && id < vocabSize))];
    this.work = new Float32Array(vocabSize);
    const sampling = !this.isGreedy;
    this.weights = new Float32Array(sampling ? vocabSize : 0);
    this.bins = new Uint16Array(sampling ? vocabSize : 0);
    this.candidates = new Int32Array(sampling ? vocabSize : 0);
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

  /**
   * Choose the next token from `logits` (length >= vocabulary size; extra entries, such as the
   * padding of a padded vocabulary, are ignored).
   */
  sample(logits: Float32Array, random: Random): number {
    const x = this.prepare(logits);
    if (this.isGreedy) return this.argmax(x);
    this.select(x);
    const total = this.massAbove + this.listMass;
    let r = random.next() * total;
    const w = this.weights;
    let last = -1;
    if (r < this.massAbove) {
      const vocab = this.vocab;
      const above = this.above;
      if (above > WEIGHT_BINS) {
        for (let i = 0; i < vocab; i++) {
          const wi = w[i]!;
          if (wi > 0) {
            r -= wi;
            if (r < 0) return i;
            last = i;
          }
        }
      } else {
        const bins = this.bins;
        for (let i = 0; i < vocab; i++) {
          const wi = w[i]!;
          if (bins[i]! < above && wi > 0) {
            r -= wi;
            if (r < 0) return i;
            last = i;
          }
        }
      }
      return last >= 0 ? last : this.argmax(x); // r ran out only through rounding: the last candidate
    }
    r -= this.massAbove;
    const ids = this.candidates;
    for (let i = 0; i < this.listLength; i++) {
      const id = ids[i]!;
      const wi = w[id]!;
      if (wi > 0) {
        r -= wi;
        if (r < 0) return id;
        last = id;
      }
    }
    return last >= 0 ? last : this.argmax(x);
  }

  /**
   * The probability with which {@link sample} draws each token from `logits` (one-hot for
   * greedy decoding). For tests and inspection: allocates a vocabulary-size array.
   */
  distribution(logits: Float32Array): Float64Array {
    const x = this.prepare(logits);
    const p = new Float64Array(this.vocab);
    if (this.isGreedy) {
      p[this.argmax(x)] = 1;
      return p;
    }
    this.select(x);
    const total = this.massAbove + this.listMass;
    const w = this.weights;
    if (this.massAbove > 0)
      for (let i = 0; i < this.vocab; i++) if ((this.above > WEIGHT_BINS || this.bins[i]! < this.above) && w[i]! > 0) p[i] = w[i]! / total;
    for (let i = 0; i < this.listLength; i++) p[this.candidates[i]!] = w[this.candidates[i]!]! / total;
    return p;
  }

  /** The logits with suppressed tokens at -Infinity and the repetition penalty applied (a copy when that changes anything). */
  private prepare(logits: Float32Array): Float32Array {
    const vocab = this.vocab;
    if (logits.length < vocab)
      throw new ModelConfigError(`The model returned ${logits.length} logits, fewer than its vocabulary size ${vocab}.`, {
        hint: "The config's vocab_size must not exceed the decoder's logits dimension: check that config.json belongs to this decoder.",
      });
    const penalty = this.options.repetitionPenalty ?? 1;
    if (this.suppressedIds.length === 0 && (penalty === 1 || this.penalised.size === 0)) return logits; // read, never written
    const x = this.work;
    x.set(logits.length === vocab ? logits : logits.subarray(0, vocab));
    for (const id of this.suppressedIds) x[id] = -Infinity;
    if (penalty !== 1)
      for (const t of this.penalised) {
        if (!(t >= 0 && t < vocab)) continue;
        const v = x[t]!;
        x[t] = v > 0 ? v / penalty : v * penalty;
      }
    return x;
  }

  /** Largest logit, lowest id on ties; throws when no token can be chosen. */
  private argmax(x: Float32Array): number {
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < this.vocab; i++) {
      const v = x[i]!;
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    }
    if (best < 0) throw noTokenError();
    return best;
  }

  /** Fill the draw set (above, massAbove, candidates[0, listLength), listMass) for sampling. */
  private select(logits: Float32Array): void {
    let x = logits;
    const vocab = this.vocab;
    const temperature = this.options.temperature!;
    const range = logitRange(x, vocab);
    let max = range.max;
    if (max === -Infinity) throw noTokenError();
    let span = Math.min(max - range.min, -MIN_SCALED_LOGIT * temperature);
    if (max === Infinity || !Number.isFinite(WEIGHT_BINS / span)) {
      // all the mass is on the largest logit (+Infinity, or a temperature too small for doubles)
      x = this.work; // never write the caller's logits
      for (let i = 0; i < vocab; i++) x[i] = logits[i] === max ? 0 : -Infinity;
      max = 0;
      span = 0;
    }
    const delta = span / WEIGHT_BINS / temperature;
    const table = this.expTable;
    const q = Math.exp(-delta);
    for (let b = 0, e = 1; b <= WEIGHT_BINS; b++, e *= q) table[b] = e;
    const scale: BinScale = { max, scale: span > 0 ? WEIGHT_BINS / span : 0, delta, table };
    const w = this.weights;
    const topK = this.options.topK ?? 0;
    const topP = this.options.topP ?? 1;
    if (topP >= 1 && topK === 0) {
      // temperature only: weights, then the draw walks them
      this.setDrawSet(WEIGHT_BINS + 1, weigh(x, vocab, scale, w), 0, 0);
      return;
    }
    const counts = this.binCounts.fill(0);
    const binMass = this.binMass.fill(0);
    const total = weigh(x, vocab, scale, w, this.bins, counts, binMass);
    // top-k: tokens in bins below `limit` plus the best `kept` of bin `limit`
    let limit = WEIGHT_BINS;
    let limitMass = total;
    let kept = 0;
    let keptMass = 0;
    if (topK > 0) {
      let count = 0;
      let mass = 0;
      let b = 0;
      while (b < WEIGHT_BINS && count + counts[b]! < topK) {
        count += counts[b]!;
        mass += binMass[b]!;
        b++;
      }
      if (b < WEIGHT_BINS) {
        // the k-th token is in bin b (else fewer than k tokens have weight > 0: keep them all)
        const n = this.gatherBin(b);
        kept = topK - count;
        selectBest(this.candidates, 0, n, kept, x);
        for (let i = 0; i < kept; i++) keptMass += w[this.candidates[i]!]!;
        limit = b;
        limitMass = mass;
      }
    }
    if (topP >= 1) {
      this.setDrawSet(limit, limitMass, kept, keptMass);
      return;
    }
    // top-p: the smallest prefix (in token order) of the kept tokens reaching topP of their mass
    const target = topP * (limitMass + keptMass);
    let mass = 0;
    let b = 0;
    while (b < limit && mass + binMass[b]! < target) mass += binMass[b++]!;
    if (b < limit) {
      const n = this.gatherBin(b);
      const m = selectMass(this.candidates, 0, n, target - mass, x, w, this.selected);
      this.setDrawSet(b, mass, m, this.selected.mass);
    } else if (kept > 0) {
      const m = selectMass(this.candidates, 0, kept, target - mass, x, w, this.selected);
      this.setDrawSet(limit, mass, m, this.selected.mass);
    } else {
      // rounding: the cut was not reached before the last bin; keep everything
      this.setDrawSet(limit, mass, 0, 0);
    }
  }

  /** Put the ids of the tokens in bin `bin` into `candidates` (ascending); returns their number. */
  private gatherBin(bin: number): number {
    const bins = this.bins;
    const ids = this.candidates;
    let n = 0;
    for (let i = 0; i < this.vocab; i++) if (bins[i] === bin) ids[n++] = i;
    return n;
  }

  private setDrawSet(above: number, massAbove: number, listLength: number, listMass: number): void {
    this.above = above;
    this.massAbove = massAbove;
    this.listLength = listLength;
    this.listMass = listMass;
  }
}

function noTokenError(): IcotError {
  return new IcotError('internal', 'No token can be chosen: every logit is -Infinity, NaN or suppressed.', {
    hint: 'The decoder produced unusable logits; check the model export and its dtype (fp16 overflow gives NaN).',
  });
}

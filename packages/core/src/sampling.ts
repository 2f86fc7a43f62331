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
// in a higher one, so a scan of per-bin counts (top-k) or weights (top-p) finds the one bin where
// a cut falls, and only that bin's tokens are ordered (partition-based selection: expected
// linear, O(n log n) at worst).
//
// Per mode, with V the vocabulary size, every step O(V) and no sort of the vocabulary:
// - temperature only: weights, then the draw walks them;
// - top-k: bins counted without weights; weights only for the k kept tokens (and top-p among
//   them by their per-bin weights);
// - top-p: weights, then the candidates of weight >= total * (1 - topP) / V, which provably hold
//   the nucleus (the others hold less than V times that, 1 - topP of the mass); a few are ordered
//   directly, many are binned. Flat distributions (logits within FLAT_SPAN temperatures, where
//   most tokens are candidates) bin every token in the weights' pass instead.
// The draw takes one random number and walks the kept tokens; any walk order draws from the
// same distribution, and the same seed gives the same tokens.
//
// Exp from the bins: exp(y) = exp(-b * delta) * exp(r), with a table of exp(-b * delta) per step
// (delta = one bin in units of y, at most 104 / 4096) and a degree-5 polynomial for exp(r),
// |r| <= delta: relative error below 1e-12, far under float32 rounding (6e-8), without Math.exp.

/** Below this scaled logit, exp() rounds to 0 in float32. */
const MIN_SCALED_LOGIT = -104;
/** Bins of the cut search (the last bin, index WEIGHT_BINS, holds weight-0 tokens). */
const WEIGHT_BINS = 4096;
/** Top-p on distributions whose logits span at most this many temperatures takes the flat-distribution path. */
const FLAT_SPAN = 12;
/** Top-p orders this many candidates directly; more are binned first. */
const FEW_CANDIDATES = 2048;
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

/**
 * How one sampling step maps logits to bins and weights: `t = (max - logit) * scale` is a token's
 * position in bins (NaN for NaN logits, Infinity for -Infinity); `t <= WEIGHT_BINS` for tokens of
 * weight > 0, whose bin is `min(floor(t), WEIGHT_BINS - 1)` and weight
 * `table[bin] * exp((bin - t) * delta)`.
 */
interface BinScale {
  readonly max: number;
  /** Bins per unit of logit distance from `max`. */
  readonly scale: number;
  /** One bin in units of scaled logit. */
  readonly delta: number;
  /** exp(-b * delta) for each bin b. */
  readonly table: Float64Array;
}

/** Weight of the token with logit `v` (0 for weight-0 tokens); the same arithmetic as the passes below. */
function weightOf(v: number, s: BinScale): number {
  const t = (s.max - v) * s.scale;
  if (!(t <= WEIGHT_BINS)) return 0;
  let bin = t | 0;
  if (bin === WEIGHT_BINS) bin--;
  const r = (bin - t) * s.delta;
  return Math.fround(s.table[bin]! * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))))));
}

/** Write every token's weight to `w`; returns their sum. */
function weighAll(x: Float32Array, vocab: number, s: BinScale, w: Float32Array): number {
  const { max, scale, delta, table } = s;
  let total = 0;
  for (let i = 0; i < vocab; i++) {
    const t = (max - x[i]!) * scale;
    let wi = 0;
    if (t <= WEIGHT_BINS) {
      let bin = t | 0;
      if (bin === WEIGHT_BINS) bin--;
      const r = (bin - t) * delta;
      wi = Math.fround(table[bin]! * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))))));
      total += wi;
    }
    w[i] = wi;
  }
  return total;
}

/**
 * Write every token's weight to `w` and bin to `bins` (WEIGHT_BINS for weight 0), and sum the
 * weights per bin into `binMass`; returns their sum. Only for flat distributions (logits within
 * FLAT_SPAN temperatures): there a bin is at most FLAT_SPAN / WEIGHT_BINS = 0.003 in y, and a
 * degree-3 polynomial is exact to 4e-12.
 */
function weighAndBinFlat(x: Float32Array, vocab: number, s: BinScale, w: Float32Array, bins: Uint16Array, binMass: Float64Array): number {
  const { max, scale, delta, table } = s;
  let total = 0;
  for (let i = 0; i < vocab; i++) {
    const t = (max - x[i]!) * scale;
    let bin = WEIGHT_BINS;
    let wi = 0;
    if (t <= WEIGHT_BINS) {
      bin = t | 0;
      if (bin === WEIGHT_BINS) bin--;
      const r = (bin - t) * delta;
      wi = Math.fround(table[bin]! * (1 + r * (1 + r * (0.5 + r * (1 / 6)))));
      binMass[bin]! += wi;
      total += wi;
    }
    w[i] = wi;
    bins[i] = bin;
  }
  return total;
}

/** Write every token's bin to `bins` and count tokens per bin into `counts` (no weights). */
function binAll(x: Float32Array, vocab: number, s: BinScale, bins: Uint16Array, counts: Int32Array): void {
  const { max, scale } = s;
  for (let i = 0; i < vocab; i++) {
    const t = (max - x[i]!) * scale;
    let bin = WEIGHT_BINS;
    if (t <= WEIGHT_BINS) {
      bin = t | 0;
      if (bin === WEIGHT_BINS) bin--;
    }
    bins[i] = bin;
    counts[bin]! += 1;
  }
}

/** How the first run of a draw set is stored (see {@link TokenSampler}). */
type FirstRun = 'every-token' | 'bins-below' | 'list';

/**
 * Picks next tokens from logits. Greedy decoding is one pass over the logits; sampling (temperature,
 * top-k, top-p, repetition penalty, suppressed tokens) is O(V) per token with no sort of the
 * vocabulary, and draws from the distribution of "sort by logit (ties: lower id first), keep the
 * top k, softmax with float32 weights, keep the shortest prefix reaching topP, renormalise".
 * Buffers of vocabulary size are allocated once; a step allocates nothing that grows with the
 * vocabulary. Sampling takes one number from `random` per token, so a seed gives the same tokens
 * on every run.
 */
export class TokenSampler {
  private readonly options: SamplingOptions;
  private readonly vocab: number;
  private readonly suppressedIds: readonly number[];
  private readonly penalised: Set<number> = new Set();
  /** Logits after suppression and the repetition penalty. */
  private readonly work: Float32Array;
  /** Token weights of the last sampling step (current for every token it may draw). */
  private readonly weights: Float32Array;
  /** Bin of each token, written by the passes that need bins. */
  private readonly bins: Uint16Array;
  private readonly binCounts = new Int32Array(WEIGHT_BINS + 1);
  private readonly binMass = new Float64Array(WEIGHT_BINS + 1);
  private readonly expTable = new Float64Array(WEIGHT_BINS + 1);
  /** Token ids of the draw set's first run, when it is a list. */
  private readonly list: Int32Array;
  /** Token ids of the bin a cut falls in; after selection the kept ones come first. */
  private readonly cut: Int32Array;
  private readonly selected = { mass: 0 };
  /**
   * The draw set of the last {@link select}: a first run (every token of weight > 0, the tokens
   * with `bins[i] < firstBin`, or `list[0, firstLength)`) of weight `firstMass`, then
   * `cut[0, cutLength)` of weight `cutMass`. Its largest token is always the argmax.
   */
  private first: FirstRun = 'list';
  private firstBin = 0;
  private firstLength = 0;
  private firstMass = 0;
  private cutLength = 0;
  private cutMass = 0;

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
    this.list = new Int32Array(sampling ? vocabSize : 0);
    this.cut = new Int32Array(sampling ? vocabSize : 0);
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
    const w = this.weights;
    let r = random.next() * (this.firstMass + this.cutMass);
    // r >= 0 until a token's weight takes it below 0, so a weight-0 token is never returned
    if (r < this.firstMass) {
      if (this.first === 'list') {
        for (let i = 0; i < this.firstLength; i++) if ((r -= w[this.list[i]!]!) < 0) return this.list[i]!;
      } else if (this.first === 'every-token') {
        for (let i = 0; i < this.vocab; i++) if ((r -= w[i]!) < 0) return i;
      } else {
        // every token whose bin is below firstBin: the mask (bin - firstBin) >>> 31 is 1 for them and
        // 0 for the others, branch-free (about four times faster than a branch on random bins)
        const bins = this.bins;
        const below = this.firstBin;
        for (let i = 0; i < this.vocab; i++) if ((r -= ((bins[i]! - below) >>> 31) * w[i]!) < 0) return i;
      }
    } else {
      r -= this.firstMass;
      for (let i = 0; i < this.cutLength; i++) if ((r -= w[this.cut[i]!]!) < 0) return this.cut[i]!;
    }
    return this.argmax(x); // r outlasted its run only through rounding: the most likely token
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
    const total = this.firstMass + this.cutMass;
    const w = this.weights;
    if (this.first === 'list') for (let i = 0; i < this.firstLength; i++) p[this.list[i]!] = w[this.list[i]!]! / total;
    else for (let i = 0; i < this.vocab; i++) if (this.first === 'every-token' || this.bins[i]! < this.firstBin) p[i] = w[i]! / total;
    for (let i = 0; i < this.cutLength; i++) p[this.cut[i]!] = w[this.cut[i]!]! / total;
    return p;
  }

  /**
   * The top-1 minus top-2 probability of the model's own distribution, softmax(`logits`) over the
   * vocabulary - before temperature, the repetition penalty and top-k / top-p, as DaP-ICoT's code
   * reads it from the raw logits: how sure the model is of its next token, whatever the sampling
   * settings. One O(V) pass, no allocation.
   */
  probabilityGap(logits: Float32Array): number {
    if (logits.length < this.vocab) this.prepare(logits); // the same error as sampling gives
    const x = logits;
    let first = -Infinity;
    let second = -Infinity;
    for (let i = 0; i < this.vocab; i++) {
      const v = x[i]!;
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) second = v;
    }
    if (first === -Infinity) throw noTokenError();
    let total = 0;
    for (let i = 0; i < this.vocab; i++) total += Math.exp(x[i]! - first);
    return (1 - Math.exp(second - first)) / total;
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

  /** Fill the draw set for sampling from `logits`. */
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
    const topP = this.options.topP ?? 1;
    const topK = this.options.topK ?? 0;
    if (topK > 0 && this.selectTopK(x, scale, topK, topP)) return;
    if (topP >= 1) return this.setFirst('every-token', 0, 0, weighAll(x, vocab, scale, this.weights)); // temperature only
    if (span / temperature <= FLAT_SPAN) this.selectTopPFlat(x, scale, topP);
    else this.selectTopP(x, scale, weighAll(x, vocab, scale, this.weights), topP);
  }

  /**
   * Top-k (then top-p among the k). Bins are counted without weights; the k-th best token is in
   * the first bin where the count from the top reaches k, and only that bin's tokens are ordered.
   * Returns false when fewer than k tokens have weight > 0 (then all of them are kept).
   */
  private selectTopK(x: Float32Array, scale: BinScale, topK: number, topP: number): boolean {
    const { bins, list, cut, weights: w } = this;
    const counts = this.binCounts.fill(0);
    binAll(x, this.vocab, scale, bins, counts);
    let below = 0;
    let b = 0;
    while (b < WEIGHT_BINS && below + counts[b]! < topK) below += counts[b++]!;
    if (b === WEIGHT_BINS) return false;
    // the tokens of bins below b, and the best of bin b
    let n = 0;
    let at = 0;
    for (let i = 0; i < this.vocab; i++) {
      const bin = bins[i]!;
      if (bin < b) list[n++] = i;
      else if (bin === b) cut[at++] = i;
    }
    const kept = topK - below;
    selectBest(cut, 0, at, kept, x);
    const binMass = this.binMass.fill(0);
    let belowMass = 0;
    for (let i = 0; i < below; i++) {
      const id = list[i]!;
      const wi = (w[id] = weightOf(x[id]!, scale));
      binMass[bins[id]!]! += wi;
      belowMass += wi;
    }
    let keptMass = 0;
    for (let i = 0; i < kept; i++) keptMass += w[cut[i]!] = weightOf(x[cut[i]!]!, scale);
    if (topP >= 1) {
      this.setFirst('list', 0, below, belowMass);
      this.setCut(kept, keptMass);
      return true;
    }
    // top-p among the k: the cut is in a bin below b, or among the kept tokens of bin b
    const target = topP * (belowMass + keptMass);
    let mass = 0;
    let c = 0;
    while (c < b && mass + binMass[c]! < target) mass += binMass[c++]!;
    if (c === b) {
      this.setFirst('list', 0, below, mass);
      this.setCut(selectMass(cut, 0, kept, target - mass, x, w, this.selected), this.selected.mass);
      return true;
    }
    // keep the tokens of bins below c in the list, move those of bin c to the cut
    let less = 0;
    at = 0;
    for (let i = 0; i < below; i++) {
      const id = list[i]!;
      const bin = bins[id]!;
      if (bin < c) list[less++] = id;
      else if (bin === c) cut[at++] = id;
    }
    this.setFirst('list', 0, less, mass);
    this.setCut(selectMass(cut, 0, at, target - mass, x, w, this.selected), this.selected.mass);
    return true;
  }

  /**
   * Top-p, weights written. The candidates are the tokens of weight >= floor = total * (1 - topP) / V:
   * the others hold less than V * floor = (1 - topP) of the mass, so the candidates hold the
   * nucleus. Few candidates are ordered directly; many (flat distributions) are binned, and only
   * the bin the cut falls in is ordered.
   */
  private selectTopP(x: Float32Array, scale: BinScale, total: number, topP: number): void {
    const { bins, list, cut, weights: w, vocab } = this;
    const binMass = this.binMass;
    const target = topP * total;
    const { max, scale: binScale } = scale;
    let n = 0;
    let candidateMass = 0;
    let usedFloor = 0;
    for (let floor = (total * (1 - topP)) / vocab; ; floor = Number.MIN_VALUE) {
      n = 0;
      candidateMass = 0;
      binMass.fill(0);
      for (let i = 0; i < vocab; i++) {
        const wi = w[i]!;
        if (wi >= floor) {
          let bin = ((max - x[i]!) * binScale) | 0;
          if (bin >= WEIGHT_BINS) bin = WEIGHT_BINS - 1;
          bins[i] = bin; // (only candidates' bins; the others' are written when they are needed)
          binMass[bin]! += wi;
          candidateMass += wi;
          if (n < FEW_CANDIDATES) list[n] = i;
          n++;
        }
      }
      usedFloor = floor;
      if (candidateMass >= target || floor === Number.MIN_VALUE) break; // (the retry only through rounding)
    }
    if (n <= FEW_CANDIDATES) {
      this.setFirst('list', 0, selectMass(list, 0, n, target, x, w, this.selected), this.selected.mass);
      this.setCut(0, 0);
      return;
    }
    let mass = 0;
    let c = 0;
    while (c < WEIGHT_BINS && mass + binMass[c]! < target) mass += binMass[c++]!;
    let at = 0;
    for (let i = 0; i < vocab; i++) {
      if (w[i]! < usedFloor) bins[i] = WEIGHT_BINS; // (the non-candidates' bins were not written)
      else if (bins[i] === c) cut[at++] = i;
    }
    this.setFirst('bins-below', c, 0, mass);
    this.setCut(selectMass(cut, 0, at, target - mass, x, w, this.selected), this.selected.mass);
  }

  /**
   * Top-p on a flat distribution (every weight >= e^-FLAT_SPAN, so the nucleus holds many tokens):
   * weights and bins in one pass, the cut in the first bin where the mass from the top reaches
   * topP, and only that bin's tokens ordered.
   */
  private selectTopPFlat(x: Float32Array, scale: BinScale, topP: number): void {
    const { bins, cut, weights: w, vocab } = this;
    const binMass = this.binMass.fill(0);
    const target = topP * weighAndBinFlat(x, vocab, scale, w, bins, binMass);
    let mass = 0;
    let c = 0;
    while (c < WEIGHT_BINS && mass + binMass[c]! < target) mass += binMass[c++]!;
    let at = 0;
    for (let i = 0; i < vocab; i++) if (bins[i] === c) cut[at++] = i;
    this.setFirst('bins-below', c, 0, mass);
    this.setCut(selectMass(cut, 0, at, target - mass, x, w, this.selected), this.selected.mass);
  }

  private setFirst(first: FirstRun, firstBin: number, firstLength: number, firstMass: number): void {
    this.first = first;
    this.firstBin = firstBin;
    this.firstLength = firstLength;
    this.firstMass = firstMass;
    if (first === 'every-token') this.setCut(0, 0);
  }

  private setCut(length: number, mass: number): void {
    this.cutLength = length;
    this.cutMass = mass;
  }
}

function noTokenError(): IcotError {
  return new IcotError('internal', 'No token can be chosen: every logit is -Infinity, NaN or suppressed.', {
    hint: 'The decoder produced unusable logits; check the model export and its dtype (fp16 overflow gives NaN).',
  });
}

import { ImageError, OptionError, type RgbImage } from '@icot/core';
import { rgbToLab } from './lab.js';

/** Settings of {@link slic}; the defaults are scikit-image's (`skimage.segmentation.slic`). */
export interface SlicOptions {
  /** Approximate number of superpixels K (scikit-image's `n_segments`, default 100). */
  readonly segments?: number;
  /**
   * Compactness m: the weight of spatial against colour distance (scikit-image's `compactness`,
   * default 10; the paper suggests m in [1, 40] for CIELAB).
   */
  readonly compactness?: number;
  /** Assignment + update rounds (default 10: "10 iterations suffices for most images", Achanta et al. 2012; scikit-image's `max_num_iter`). */
  readonly iterations?: number;
  /**
   * Orphans (pieces split off a superpixel's main piece) smaller than this fraction of the mean
   * superpixel size (N / number of seeds) join a neighbouring superpixel (default 0.25, the
   * authors' code: pieces of at most N/K/4 pixels are merged; scikit-image's `min_size_factor` is
   * 0.5 and applies to main pieces too, which swallows small objects).
   */
  readonly minSizeFactor?: number;
}

/** A superpixel segmentation: one label per pixel. */
export interface Superpixels {
  readonly width: number;
  readonly height: number;
  /** Label of each pixel (`width * height`, rows top to bottom), `0 .. count - 1`, numbered in raster order of each superpixel's first pixel. */
  readonly labels: Int32Array;
  /** Number of superpixels (each one 4-connected). */
  readonly count: number;
}

/** The SLIC defaults: scikit-image's segments, compactness and iterations; the authors' orphan size. */
export const SLIC_DEFAULTS = { segments: 100, compactness: 10, iterations: 10, minSizeFactor: 0.25 } as const;

/** Check SLIC settings; throws {@link OptionError} naming the bad one. */
export function checkSlicOptions(options: SlicOptions): Required<SlicOptions> {
  const { segments, compactness, iterations, minSizeFactor } = { ...SLIC_DEFAULTS, ...dropUndefined(options) };
  if (!Number.isInteger(segments) || segments < 1)
    throw new OptionError(`segments must be an integer >= 1, got ${String(segments)}.`, { hint: 'Use e.g. segments: 100 (scikit-image\'s n_segments default).' });
  if (typeof compactness !== 'number' || !Number.isFinite(compactness) || compactness <= 0)
    throw new OptionError(`compactness must be a finite number > 0, got ${String(compactness)}.`, { hint: 'Use e.g. compactness: 10 (scikit-image\'s default; larger makes squarer superpixels).' });
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 1000)
    throw new OptionError(`iterations must be an integer in 1..1000, got ${String(iterations)}.`, { hint: 'Use e.g. iterations: 10 (the paper\'s).' });
  if (typeof minSizeFactor !== 'number' || !(minSizeFactor >= 0 && minSizeFactor <= 1))
    throw new OptionError(`minSizeFactor must be a number in [0, 1], got ${String(minSizeFactor)}.`, { hint: 'Use e.g. minSizeFactor: 0.25 (the authors\' code).' });
  return { segments, compactness, iterations, minSizeFactor };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * SLIC superpixels (Achanta et al., "SLIC Superpixels Compared to State-of-the-Art Superpixel
 * Methods", IEEE TPAMI 34(11), 2012, Algorithm 1):
 *
 * 1. the image in CIELAB ({@link rgbToLab});
 * 2. seeds on a regular grid with step S = sqrt(N / K) (rows x cols = round(H / S) x round(W / S),
 *    each at its cell's centre), each moved to the lowest-gradient position of its 3 x 3
 *    neighbourhood, G(x, y) = |I(x+1, y) - I(x-1, y)|^2 + |I(x, y+1) - I(x, y-1)|^2 in CIELAB;
 * 3. `iterations` rounds of: every pixel within the 2S x 2S window around a centre takes the
 *    centre with the smallest D = sqrt(d_lab^2 + (d_xy / S)^2 m^2) (compared squared), then every
 *    centre moves to the mean [l, a, b, x, y] of its pixels (a centre left without pixels stays);
 * 4. connectivity ({@link enforceConnectivity}): each superpixel becomes one 4-connected piece;
 *    orphans (pieces split off a superpixel's main piece) smaller than
 *    `minSizeFactor * N / seeds` join a neighbour, larger ones become superpixels of their own.
 *
 * Typed arrays throughout; each round is O(N) (every pixel lies in about four windows).
 * Deterministic: ties go to the lower-numbered centre.
 */
export function slic(image: RgbImage, options: SlicOptions = {}): Superpixels {
  const { segments, compactness, iterations, minSizeFactor } = checkSlicOptions(options);
  const { width: w, height: h } = image;
  const n = w * h;
  if (!(n > 0)) throw new ImageError(`SLIC needs an image with pixels, got ${w} x ${h}.`, { hint: 'Pass a decoded image of at least 1 x 1 pixels.' });
  if (image.data.length < n * 3)
    throw new ImageError(`The image's data holds ${image.data.length} bytes, fewer than ${w} x ${h} x 3.`, { hint: 'Pass RGB interleaved bytes (width * height * 3).' });
  const { l: L, a: A, b: B } = rgbToLab(image);

  const step = Math.sqrt(n / Math.min(segments, n));
  const rows = Math.max(1, Math.min(h, Math.round(h / step)));
  const cols = Math.max(1, Math.min(w, Math.round(w / step)));
  const count = rows * cols;
  const cl = new Float64Array(count);
  const ca = new Float64Array(count);
  const cb = new Float64Array(count);
  const cx = new Float64Array(count);
  const cy = new Float64Array(count);

  const gradient = (x: number, y: number): number => {
    const row = y * w;
    const left = row + Math.max(0, x - 1);
    const right = row + Math.min(w - 1, x + 1);
    const up = Math.max(0, y - 1) * w + x;
    const down = Math.min(h - 1, y + 1) * w + x;
    const dl1 = L[right]! - L[left]!;
    const da1 = A[right]! - A[left]!;
    const db1 = B[right]! - B[left]!;
    const dl2 = L[down]! - L[up]!;
    const da2 = A[down]! - A[up]!;
    const db2 = B[down]! - B[up]!;
    return dl1 * dl1 + da1 * da1 + db1 * db1 + dl2 * dl2 + da2 * da2 + db2 * db2;
  };
  for (let r = 0, c = 0; r < rows; r++)
    for (let q = 0; q < cols; q++, c++) {
      const x0 = Math.min(w - 1, Math.floor(((q + 0.5) * w) / cols));
      const y0 = Math.min(h - 1, Math.floor(((r + 0.5) * h) / rows));
      let bx = x0;
      let by = y0;
      let best = gradient(x0, y0);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const x = x0 + dx;
          const y = y0 + dy;
          if (x < 0 || y < 0 || x >= w || y >= h) continue;
          const g = gradient(x, y);
          if (g < best) {
            best = g;
            bx = x;
            by = y;
          }
        }
      const i = by * w + bx;
      cl[c] = L[i]!;
      ca[c] = A[i]!;
      cb[c] = B[i]!;
      cx[c] = bx;
      cy[c] = by;
    }

  const labels = new Int32Array(n);
  const distance = new Float32Array(n);
  const spatial = (compactness / step) ** 2;
  const sums = new Float64Array(count * 6);
  for (let round = 0; round < iterations; round++) {
    labels.fill(-1);
    distance.fill(Infinity);
    for (let c = 0; c < count; c++) {
      const x0 = Math.max(0, Math.floor(cx[c]! - step));
      const x1 = Math.min(w - 1, Math.ceil(cx[c]! + step));
      const y0 = Math.max(0, Math.floor(cy[c]! - step));
      const y1 = Math.min(h - 1, Math.ceil(cy[c]! + step));
      const ml = cl[c]!;
      const ma = ca[c]!;
      const mb = cb[c]!;
      const mx = cx[c]!;
      const my = cy[c]!;
      for (let y = y0; y <= y1; y++) {
        const dy = y - my;
        const dyTerm = dy * dy * spatial;
        for (let x = x0, i = y * w + x0; x <= x1; x++, i++) {
          const dl = L[i]! - ml;
          const da = A[i]! - ma;
          const db = B[i]! - mb;
          const dx = x - mx;
          const d = dl * dl + da * da + db * db + dx * dx * spatial + dyTerm;
          if (d < distance[i]!) {
            distance[i] = d;
            labels[i] = c;
          }
        }
      }
    }
    sums.fill(0);
    for (let y = 0, i = 0; y < h; y++)
      for (let x = 0; x < w; x++, i++) {
        const c = labels[i]!;
        if (c < 0) continue;
        const o = c * 6;
        sums[o]! += L[i]!;
        sums[o + 1]! += A[i]!;
        sums[o + 2]! += B[i]!;
        sums[o + 3]! += x;
        sums[o + 4]! += y;
        sums[o + 5]! += 1;
      }
    for (let c = 0; c < count; c++) {
      const o = c * 6;
      const size = sums[o + 5]!;
      if (size === 0) continue;
      cl[c] = sums[o]! / size;
      ca[c] = sums[o + 1]! / size;
      cb[c] = sums[o + 2]! / size;
      cx[c] = sums[o + 3]! / size;
      cy[c] = sums[o + 4]! / size;
    }
  }
  return enforceConnectivity(labels, w, h, Math.floor((minSizeFactor * n) / count));
}

/**
 * Relabel `labels` so that every superpixel is one 4-connected piece. The largest piece of each
 * label keeps it, whatever its size (so a small object the clustering found, a small shape, stays
 * a superpixel); another piece keeps a label of its own when it has at least `minSize` pixels,
 * else it is an orphan and joins the neighbouring piece it shares the longest border with (ties:
 * the lower final label; orphans touching only orphans join in a later round). Pieces are numbered
 * in raster order of their first pixel. Pixels no centre reached (label -1) count as one more
 * label. O(N) plus the orphans' pixels once per round.
 */
export function enforceConnectivity(labels: Int32Array, w: number, h: number, minSize: number): Superpixels {
  const n = w * h;
  // 1. pieces: 4-connected runs of one label, numbered in raster order of their first pixel
  const piece = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  const sizes: number[] = [];
  const pieceLabel: number[] = [];
  for (let start = 0; start < n; start++) {
    if (piece[start] !== -1) continue;
    const id = sizes.length;
    const old = labels[start]!;
    piece[start] = id;
    queue[0] = start;
    let size = 1;
    for (let head = 0; head < size; head++) {
      const i = queue[head]!;
      const x = i % w;
      if (x > 0 && piece[i - 1] === -1 && labels[i - 1] === old) {
        piece[i - 1] = id;
        queue[size++] = i - 1;
      }
      if (x < w - 1 && piece[i + 1] === -1 && labels[i + 1] === old) {
        piece[i + 1] = id;
        queue[size++] = i + 1;
      }
      if (i >= w && piece[i - w] === -1 && labels[i - w] === old) {
        piece[i - w] = id;
        queue[size++] = i - w;
      }
      if (i + w < n && piece[i + w] === -1 && labels[i + w] === old) {
        piece[i + w] = id;
        queue[size++] = i + w;
      }
    }
    sizes.push(size);
    pieceLabel.push(old);
  }
  // 2. the main piece of every label (the largest; ties: the first) and pieces of at least minSize stay
  const main = new Map<number, number>();
  sizes.forEach((size, id) => {
    const current = main.get(pieceLabel[id]!);
    if (current === undefined || size > sizes[current]!) main.set(pieceLabel[id]!, id);
  });
  const final = new Int32Array(sizes.length).fill(-1);
  let count = 0;
  for (let id = 0; id < sizes.length; id++) if (main.get(pieceLabel[id]!) === id || sizes[id]! >= minSize) final[id] = count++;
  // 3. orphans join the settled neighbour with the longest shared border, in rounds
  let orphanPixels: number[] = [];
  for (let i = 0; i < n; i++) if (final[piece[i]!] === -1) orphanPixels.push(i);
  while (orphanPixels.length > 0) {
    const borders = new Map<number, Map<number, number>>();
    const vote = (orphan: number, j: number): void => {
      const target = final[piece[j]!]!;
      if (target === -1) return;
      let votes = borders.get(orphan);
      if (!votes) borders.set(orphan, (votes = new Map()));
      votes.set(target, (votes.get(target) ?? 0) + 1);
    };
    for (const i of orphanPixels) {
      const orphan = piece[i]!;
      const x = i % w;
      if (x > 0) vote(orphan, i - 1);
      if (x < w - 1) vote(orphan, i + 1);
      if (i >= w) vote(orphan, i - w);
      if (i + w < n) vote(orphan, i + w);
    }
    for (const [orphan, votes] of borders) {
      let best = -1;
      let bestVotes = 0;
      for (const [target, v] of votes) if (v > bestVotes || (v === bestVotes && target < best)) [best, bestVotes] = [target, v];
      final[orphan] = best;
    }
    orphanPixels = orphanPixels.filter((i) => final[piece[i]!] === -1);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = final[piece[i]!]!;
  return { width: w, height: h, labels: out, count };
}

/**
 * Shrink an image by block averaging with the smallest integer factor f that brings it to at most
 * `maxPixels` pixels (ceil(W / f) x ceil(H / f); edge blocks average the pixels they have; means
 * rounded half up). Returns the image itself and f = 1 when it is small enough. SLIC then runs on
 * the smaller image; its pixel (x, y) stands for the original's f x f block at (x f, y f).
 */
export function shrinkImage(image: RgbImage, maxPixels: number): { readonly image: RgbImage; readonly factor: number } {
  const { width: w, height: h, data } = image;
  let factor = Math.max(1, Math.floor(Math.sqrt((w * h) / maxPixels)));
  while (Math.ceil(w / factor) * Math.ceil(h / factor) > maxPixels) factor++;
  if (factor === 1) return { image, factor };
  const sw = Math.ceil(w / factor);
  const sh = Math.ceil(h / factor);
  const sums = new Uint32Array(sw * 3);
  const counts = new Uint32Array(sw);
  const out = new Uint8Array(sw * sh * 3);
  for (let sy = 0; sy < sh; sy++) {
    sums.fill(0);
    counts.fill(0);
    for (let y = sy * factor; y < Math.min(h, (sy + 1) * factor); y++)
      for (let x = 0; x < w; x++) {
        const s = Math.floor(x / factor);
        const o = (y * w + x) * 3;
        sums[s * 3]! += data[o]!;
        sums[s * 3 + 1]! += data[o + 1]!;
        sums[s * 3 + 2]! += data[o + 2]!;
        counts[s]! += 1;
      }
    for (let s = 0; s < sw; s++) {
      const c = counts[s]!;
      const o = (sy * sw + s) * 3;
      out[o] = Math.floor((sums[s * 3]! * 2 + c) / (2 * c));
      out[o + 1] = Math.floor((sums[s * 3 + 1]! * 2 + c) / (2 * c));
      out[o + 2] = Math.floor((sums[s * 3 + 2]! * 2 + c) / (2 * c));
    }
  }
  return { image: { width: sw, height: sh, data: out }, factor };
}

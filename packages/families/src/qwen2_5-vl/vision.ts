import { ModelConfigError } from '@icot/core';

/**
 * What Qwen2.5-VL changes over Qwen2-VL, all inside the vision encoder (`vision_config`, field
 * names of transformers' `Qwen2_5_VLVisionConfig`): window attention over `window_size`-pixel
 * windows in every block except `fullatt_block_indexes`, a merger to `out_hidden_size`, and
 * `tokens_per_second` for video time positions. For still images the prompt layout, the M-RoPE
 * positions (t = 0 for every image token) and the preprocessing (Qwen2VLImageProcessor's smart
 * resize, named by the published preprocessor_config.json) are Qwen2-VL's, so the Qwen2-VL family
 * serves both model types; the vision encoder's output is in the same raster order of merged
 * tokens (the encoder undoes its window reordering before the merger's output).
 */
export interface Qwen25VlVisionConfig {
  readonly patchSize: number;
  readonly spatialMergeSize: number;
  readonly temporalPatchSize: number;
  /** Window side in pixels (112 in the published configs: 4 x 4 merged tokens per window). */
  readonly windowSize: number;
  /** Vision blocks with full attention; the others attend within windows. */
  readonly fullattBlockIndexes: readonly number[];
  /** Time positions per second of video (2 in the published 3B/7B configs; unused for images). */
  readonly tokensPerSecond: number;
  /** Width of the features the vision encoder returns (the text model's hidden size), when given. */
  readonly outHiddenSize: number | undefined;
}

/** Read the vision facts of a Qwen2.5-VL `config.json` (transformers' defaults for missing keys). */
export function readQwen25VlVisionConfig(config: Record<string, unknown>): Qwen25VlVisionConfig {
  const vision = (config['vision_config'] as Record<string, unknown> | undefined) ?? {};
  const int = (key: string, fallback: number | undefined): number | undefined => {
    const value = vision[key] ?? fallback;
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
      throw new ModelConfigError(`config.json: vision_config.${key} must be a positive integer (got ${JSON.stringify(value)}).`, {
        hint: 'Use the config.json that belongs to this Qwen2.5-VL export.',
      });
    return value;
  };
  const full = vision['fullatt_block_indexes'] ?? [7, 15, 23, 31];
  if (!Array.isArray(full) || !full.every((v) => Number.isInteger(v) && v >= 0))
    throw new ModelConfigError('config.json: vision_config.fullatt_block_indexes must be a list of block indices.', { hint: 'Use the config.json that belongs to this Qwen2.5-VL export.' });
  return {
    patchSize: int('patch_size', 14)!,
    spatialMergeSize: int('spatial_merge_size', 2)!,
    temporalPatchSize: int('temporal_patch_size', 2)!,
    windowSize: int('window_size', 112)!,
    fullattBlockIndexes: full as number[],
    tokensPerSecond: int('tokens_per_second', 4)!,
    outHiddenSize: int('out_hidden_size', undefined),
  };
}

/** Output of {@link qwen25VlWindowIndex}. */
export interface Qwen25VlWindows {
  /** `order[i]`: the merged token (raster order over all images) that is `i`-th in window order. */
  readonly order: Int32Array;
  /** Merged tokens per non-empty window, in window order (windows are contiguous in `order`). */
  readonly windowLengths: readonly number[];
  /** `windowOf[t]`: the window (index into `windowLengths`) of merged token `t`, in raster order. */
  readonly windowOf: Int32Array;
}

/**
 * The window reordering of Qwen2.5-VL's vision encoder (transformers `get_window_index`): per image
 * and frame, the merged-token grid (`h / merge` x `w / merge`) is cut into squares of
 * `windowSize / merge / patch` tokens from the top left (partial windows at the right and bottom
 * edges), windows in raster order, tokens within a window in raster order; images follow each
 * other. Window attention attends within each run of `windowLengths`; the encoder applies the
 * inverse of `order` after its merger, so its output is in raster order again.
 */
export function qwen25VlWindowIndex(gridThw: readonly (readonly [number, number, number])[], config: Pick<Qwen25VlVisionConfig, 'windowSize' | 'spatialMergeSize' | 'patchSize'>): Qwen25VlWindows {
  const side = Math.floor(config.windowSize / config.spatialMergeSize / config.patchSize);
  if (side < 1)
    throw new ModelConfigError(`vision_config.window_size ${config.windowSize} is smaller than one merged token (${config.spatialMergeSize * config.patchSize} px).`, {
      hint: 'Use the config.json that belongs to this Qwen2.5-VL export.',
    });
  const total = gridThw.reduce((n, [t, h, w]) => n + t * Math.floor(h / config.spatialMergeSize) * Math.floor(w / config.spatialMergeSize), 0);
  const order = new Int32Array(total);
  const windowOf = new Int32Array(total);
  const windowLengths: number[] = [];
  let at = 0;
  let base = 0;
  for (const [t, h, w] of gridThw) {
    const rows = Math.floor(h / config.spatialMergeSize);
    const cols = Math.floor(w / config.spatialMergeSize);
    for (let frame = 0; frame < t; frame++)
      for (let wr = 0; wr * side < rows; wr++)
        for (let wc = 0; wc * side < cols; wc++) {
          const window = windowLengths.length;
          let length = 0;
          for (let r = wr * side; r < Math.min(rows, (wr + 1) * side); r++)
            for (let c = wc * side; c < Math.min(cols, (wc + 1) * side); c++) {
              const token = base + (frame * rows + r) * cols + c;
              order[at++] = token;
              windowOf[token] = window;
              length += 1;
            }
          windowLengths.push(length);
        }
    base += t * rows * cols;
  }
  return { order, windowLengths, windowOf };
}

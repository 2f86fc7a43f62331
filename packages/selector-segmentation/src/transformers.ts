/**
 * Segmentation selection with SAM-family masks through transformers.js (`SamModel` for SAM and
 * SlimSAM, `Sam2Model` for SAM 2 / 2.1 and its relatives): the model's vision encoder runs once
 * per image, its prompt encoder and mask decoder turn point prompts into masks, and transformers.js's
 * own processor prepares the image, rescales the points and post-processes the masks.
 * `@huggingface/transformers` is an optional peer dependency: install it to use this entry.
 * @module
 */
import { AutoConfig, AutoProcessor, RawImage, Sam2Model, SamModel, Tensor, env } from '@huggingface/transformers';
import { ModelConfigError, ModelFilesError, OptionError, type EncodedImage, type RgbImage } from '@icot/core';
import { attentionPeaks, boxNms, maskBox, maskRegions, pointGrid, stabilityScore, type BinaryMask } from './masks.js';
import type { PatchRegion } from './regions.js';
import { checkSelectionSettings, SegmentationSelector, type RegionRequest, type RegionSource } from './selector.js';

/** Where the SAM prompts come from. */
export type SamPrompts = 'attention-peaks' | 'grid';

/** Settings of {@link createSamRegionSource}: plain JSON. */
export interface SamRegionOptions {
  /**
   * A local folder of a SAM-family model in the transformers.js layout: `config.json` (`model_type`
   * `sam`, `sam2`, `edgetam` or `sam3_tracker`), `preprocessor_config.json`,
   * `onnx/vision_encoder{suffix}.onnx` and `onnx/prompt_encoder_mask_decoder{suffix}.onnx`
   * (e.g. a download of Xenova/slimsam-77-uniform or onnx-community/sam2.1-hiera-tiny-ONNX).
   */
  readonly model: string;
  /**
   * `attention-peaks` (default): at each insertion, one positive point at each of the `peaks` most
   * attended places (DaP-ICoT-like prompts), each giving the mask SAM predicts best;
   * `grid`: SAM's automatic mask pool from a `pointsPerSide` x `pointsPerSide` point grid, once
   * per image.
   */
  readonly prompts?: SamPrompts;
  /** Prompts per insertion with `attention-peaks` (default 8). */
  readonly peaks?: number;
  /** Points per side of the grid (default 32, SAM's and SAM 2's). */
  readonly pointsPerSide?: number;
  /** Prompts per decoder run (default 64, SAM's `points_per_batch`). */
  readonly pointsPerBatch?: number;
  /** Grid masks need a predicted IoU of at least this (default 0.88 for SAM, 0.8 for SAM 2, their automatic mask generators'). */
  readonly predIouThreshold?: number;
  /** Grid masks need a stability score of at least this (default 0.95). */
  readonly stabilityScoreThreshold?: number;
  /** Logit offset of the stability score (default 1). */
  readonly stabilityScoreOffset?: number;
  /** Grid masks whose boxes overlap a better one's by more than this IoU are dropped (default 0.7). */
  readonly boxNmsThreshold?: number;
  /** A patch belongs to a mask covering at least this fraction of its box (default 0.5). */
  readonly maskCoverage?: number;
  /** transformers.js dtype of the graphs (default `fp32`: `onnx/<name>.onnx`). */
  readonly dtype?: string;
}

/** Options of {@link createSamSegmentationSelector}: the region source's and the selection rules. */
export interface SamSegmentationSelectorOptions extends SamRegionOptions {
  /** Name reported in results (default `segmentation`). */
  readonly name?: string;
  /** Drop regions with more patches than this (default: the request's k; DaP-ICoT: 64). */
  readonly maxRegionPatches?: number;
  /** Fill the slots whole regions leave (default true). */
  readonly fill?: boolean;
}

/** A {@link RegionSource} holding a loaded model: dispose it when done. */
export interface SamRegionSource extends RegionSource {
  /** The model's `model_type` (`sam`, `sam2`, ...). */
  readonly modelType: string;
  /** Release the model's sessions. */
  dispose(): Promise<void>;
}

const SAM1_TYPES = ['sam'];
const SAM2_TYPES = ['sam2', 'edgetam', 'sam3_tracker'];
const REGION_OPTION_NAMES = ['model', 'prompts', 'peaks', 'pointsPerSide', 'pointsPerBatch', 'predIouThreshold', 'stabilityScoreThreshold', 'stabilityScoreOffset', 'boxNmsThreshold', 'maskCoverage', 'dtype'] as const;
const SELECTOR_OPTION_NAMES = [...REGION_OPTION_NAMES, 'name', 'maxRegionPatches', 'fill'] as const;

/** The parts of a transformers.js SAM model and processor used here. */
interface SamModelLike {
  get_image_embeddings(inputs: { pixel_values: Tensor }): Promise<Record<string, Tensor>>;
  (inputs: Record<string, Tensor>): Promise<{ iou_scores: Tensor; pred_masks: Tensor }>;
  dispose(): Promise<unknown>;
}
interface SamProcessorLike {
  (image: RawImage): Promise<{ pixel_values: Tensor; original_sizes: [number, number][]; reshaped_input_sizes: [number, number][] }>;
  reshape_input_points(points: number[][][][], original: [number, number][], reshaped: [number, number][]): Tensor;
  post_process_masks(masks: Tensor, original: [number, number][], reshaped: [number, number][]): Promise<Tensor[]>;
}

function checkFraction(name: string, value: unknown, { open = false } = {}): void {
  if (value !== undefined && (typeof value !== 'number' || !(open ? value > 0 && value <= 1 : value >= 0 && value <= 1)))
    throw new OptionError(`${name} must be a number in ${open ? '(0, 1]' : '[0, 1]'}, got ${JSON.stringify(value)}.`, { hint: `Leave ${name} out for its default.` });
}

function checkCount(name: string, value: unknown, max: number): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max))
    throw new OptionError(`${name} must be an integer in 1..${max}, got ${JSON.stringify(value)}.`, { hint: `Leave ${name} out for its default.` });
}

function checkOptions(options: unknown, names: readonly string[]): asserts options is SamSegmentationSelectorOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new OptionError(`SAM segmentation options must be an object, got ${JSON.stringify(options)}.`, { hint: "Pass e.g. { model: './sam2.1-hiera-tiny-ONNX' }." });
  const unknown = Object.keys(options).filter((key) => !names.includes(key));
  if (unknown.length > 0) throw new OptionError(`Unknown SAM segmentation option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`, { hint: `Use: ${names.join(', ')}.` });
  const o = options as Record<string, unknown>;
  if (typeof o['model'] !== 'string' || o['model'] === '')
    throw new OptionError(`model must name a local folder of a SAM-family model, got ${JSON.stringify(o['model'])}.`, { hint: "Pass e.g. model: './sam2.1-hiera-tiny-ONNX' (a folder with config.json and onnx/)." });
  if (o['prompts'] !== undefined && o['prompts'] !== 'attention-peaks' && o['prompts'] !== 'grid')
    throw new OptionError(`prompts must be 'attention-peaks' or 'grid', got ${JSON.stringify(o['prompts'])}.`, { hint: "Use prompts: 'attention-peaks' (default) or 'grid'." });
  checkCount('peaks', o['peaks'], 256);
  checkCount('pointsPerSide', o['pointsPerSide'], 128);
  checkCount('pointsPerBatch', o['pointsPerBatch'], 4096);
  checkFraction('predIouThreshold', o['predIouThreshold']);
  checkFraction('stabilityScoreThreshold', o['stabilityScoreThreshold']);
  checkFraction('boxNmsThreshold', o['boxNmsThreshold']);
  checkFraction('maskCoverage', o['maskCoverage'], { open: true });
  if (o['stabilityScoreOffset'] !== undefined && (typeof o['stabilityScoreOffset'] !== 'number' || !(o['stabilityScoreOffset'] >= 0) || !Number.isFinite(o['stabilityScoreOffset'])))
    throw new OptionError(`stabilityScoreOffset must be a finite number >= 0, got ${JSON.stringify(o['stabilityScoreOffset'])}.`, { hint: 'Leave it out for SAM\'s 1.' });
  if (o['dtype'] !== undefined && (typeof o['dtype'] !== 'string' || o['dtype'] === '')) throw new OptionError(`dtype must be a transformers.js dtype name, got ${JSON.stringify(o['dtype'])}.`, { hint: "Use e.g. 'fp32' (default), 'fp16' or 'q8'." });
}

/**
 * Load a SAM-family model from a local folder through transformers.js and make a
 * {@link RegionSource} of its masks (variant `sam-peaks` or `sam-grid`). Per image, the processor
 * prepares the pixels and the vision encoder runs once (kept for later insertions, in a WeakMap
 * keyed by the encoded image). Prompts are points in original-image pixels, rescaled by the
 * processor's `reshape_input_points`; masks come from its `post_process_masks` (bilinear upscaling
 * to the padded input, crop, resize to the original size, threshold 0) and become regions by
 * {@link maskRegions}.
 *
 * - `attention-peaks`: one positive point at the centre of each of the `peaks` attention peaks
 *   ({@link attentionPeaks}); each prompt keeps the one of its three masks with the highest
 *   predicted IoU (SAM's advice for ambiguous single points).
 * - `grid`: SAM's automatic mask generator without crops: a point grid ({@link pointGrid}) in
 *   batches, masks kept when their predicted IoU and stability score pass the thresholds (the
 *   stability score computed on the decoder's low-resolution logits, to post-process only the
 *   masks kept), then box NMS ({@link boxNms}) by predicted IoU; computed once per image.
 */
export async function createSamRegionSource(options: SamRegionOptions): Promise<SamRegionSource> {
  checkOptions(options, REGION_OPTION_NAMES);
  const dir = options.model;
  const wasRemote = env.allowRemoteModels;
  env.allowRemoteModels = false; // a local folder: never reach for the network
  let model: SamModelLike;
  let processor: SamProcessorLike;
  let modelType: string;
  try {
    let config: { model_type?: string };
    try {
      config = (await AutoConfig.from_pretrained(dir, { local_files_only: true })) as unknown as { model_type?: string };
    } catch (cause) {
      throw new ModelFilesError(`No SAM-family model config could be read from '${dir}'.`, { hint: 'Pass a local folder with config.json, preprocessor_config.json and onnx/ (a transformers.js SAM or SAM 2 model).', cause, missing: ['config.json'] });
    }
    modelType = String(config.model_type);
    const Model = SAM1_TYPES.includes(modelType) ? SamModel : SAM2_TYPES.includes(modelType) ? Sam2Model : undefined;
    if (!Model)
      throw new ModelConfigError(`The model in '${dir}' has model_type '${modelType}', not a SAM-family model.`, { hint: `Use a model with model_type ${[...SAM1_TYPES, ...SAM2_TYPES].join(', ')}.` });
    try {
      model = (await Model.from_pretrained(dir, { local_files_only: true, dtype: (options.dtype ?? 'fp32') as 'fp32', device: 'cpu' })) as unknown as SamModelLike;
      processor = (await AutoProcessor.from_pretrained(dir, { local_files_only: true })) as unknown as SamProcessorLike;
    } catch (cause) {
      throw new ModelFilesError(`The SAM-family model in '${dir}' could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, {
        hint: `It needs preprocessor_config.json, onnx/vision_encoder${options.dtype && options.dtype !== 'fp32' ? `_${options.dtype}` : ''}.onnx and onnx/prompt_encoder_mask_decoder of that dtype.`,
        cause,
      });
    }
  } finally {
    env.allowRemoteModels = wasRemote;
  }
  const sam2 = SAM2_TYPES.includes(modelType);
  const prompts = options.prompts ?? 'attention-peaks';
  const peaks = options.peaks ?? 8;
  const pointsPerSide = options.pointsPerSide ?? 32;
  const pointsPerBatch = options.pointsPerBatch ?? 64;
  const predIouThreshold = options.predIouThreshold ?? (sam2 ? 0.8 : 0.88);
  const stabilityThreshold = options.stabilityScoreThreshold ?? 0.95;
  const stabilityOffset = options.stabilityScoreOffset ?? 1;
  const nmsThreshold = options.boxNmsThreshold ?? 0.7;
  const coverage = options.maskCoverage ?? 0.5;

  interface Prepared {
    readonly pixels: RgbImage;
    readonly original: [number, number][];
    readonly reshaped: [number, number][];
    readonly embeddings: Record<string, Tensor>;
    grid?: readonly PatchRegion[];
  }
  const prepared = new WeakMap<EncodedImage, Prepared>();
  const prepare = async (image: EncodedImage, pixels: RgbImage): Promise<Prepared> => {
    const cached = prepared.get(image);
    if (cached && cached.pixels === pixels) return cached;
    const inputs = await processor(new RawImage(pixels.data, pixels.width, pixels.height, 3));
    const embeddings = await model.get_image_embeddings({ pixel_values: inputs.pixel_values });
    const entry: Prepared = { pixels, original: inputs.original_sizes, reshaped: inputs.reshaped_input_sizes, embeddings };
    prepared.set(image, entry);
    return entry;
  };

  /** Decode `points` (original pixels) as one-point prompts: per prompt its three masks' low-res logits and predicted IoUs. */
  const decode = async (entry: Prepared, points: readonly (readonly [number, number])[]) => {
    const inputPoints = processor.reshape_input_points([points.map((p) => [[p[0], p[1]]])], entry.original, entry.reshaped);
    const inputLabels = new Tensor('int64', BigInt64Array.from(points, () => 1n), [1, points.length, 1]);
    const out = await model({ ...entry.embeddings, input_points: inputPoints, input_labels: inputLabels });
    const [, , masks, h, w] = out.pred_masks.dims as number[];
    return { logits: out.pred_masks.data as Float32Array, iou: out.iou_scores.data as Float32Array, masks: masks!, h: h!, w: w! };
  };

  /** Post-process chosen low-res masks (`at`: offsets of h x w logits) to original-size binary masks, a few at a time. */
  const postProcess = async (entry: Prepared, logits: Float32Array, at: readonly number[], h: number, w: number, use: (mask: BinaryMask, index: number) => void) => {
    const chunk = 8;
    for (let start = 0; start < at.length; start += chunk) {
      const part = at.slice(start, start + chunk);
      const data = new Float32Array(part.length * h * w);
      part.forEach((offset, i) => data.set(logits.subarray(offset, offset + h * w), i * h * w));
      const [masks] = await processor.post_process_masks(new Tensor('float32', data, [1, part.length, 1, h, w]), entry.original, entry.reshaped);
      const [height, width] = entry.original[0]!;
      const bits = masks!.data as Uint8Array;
      part.forEach((_, i) => use({ width, height, data: bits.subarray(i * width * height, (i + 1) * width * height) }, start + i));
    }
  };

  const peakRegions = async ({ image, pixels, scores, exclude }: RegionRequest): Promise<PatchRegion[]> => {
    const entry = await prepare(image, pixels);
    const chosen = attentionPeaks(image, scores, peaks, exclude);
    if (chosen.length === 0) return [];
    const centre = (p: number): [number, number] => {
      const b = image.patchBox(p);
      return [b.x + b.width / 2, b.y + b.height / 2];
    };
    const { logits, iou, masks, h, w } = await decode(entry, chosen.map(centre));
    // per prompt, the mask with the highest predicted IoU (ties: the first)
    const at = chosen.map((_, p) => {
      let best = 0;
      for (let m = 1; m < masks; m++) if (iou[p * masks + m]! > iou[p * masks + best]!) best = m;
      return (p * masks + best) * h * w;
    });
    const regions: PatchRegion[] = [];
    await postProcess(entry, logits, at, h, w, (mask) => regions.push(...maskRegions(image, mask, coverage)));
    return dedupe(regions);
  };

  const gridRegions = async ({ image, pixels }: RegionRequest): Promise<readonly PatchRegion[]> => {
    const entry = await prepare(image, pixels);
    if (entry.grid) return entry.grid;
    const points = pointGrid(pointsPerSide, pixels.width, pixels.height);
    const candidates: { box: [number, number, number, number]; score: number; regions: PatchRegion[] }[] = [];
    for (let start = 0; start < points.length; start += pointsPerBatch) {
      const { logits, iou, h, w } = await decode(entry, points.slice(start, start + pointsPerBatch));
      const kept: number[] = [];
      const keptScores: number[] = [];
      for (let i = 0; i < iou.length; i++) {
        if (!(iou[i]! >= predIouThreshold)) continue;
        if (!(stabilityScore(logits.subarray(i * h * w, (i + 1) * h * w), 0, stabilityOffset) >= stabilityThreshold)) continue;
        kept.push(i * h * w);
        keptScores.push(iou[i]!);
      }
      await postProcess(entry, logits, kept, h, w, (mask, index) => {
        const box = maskBox(mask);
        if (box) candidates.push({ box, score: keptScores[index]!, regions: maskRegions(image, mask, coverage) });
      });
    }
    const keep = boxNms(
      candidates.map((c) => c.box),
      candidates.map((c) => c.score),
      nmsThreshold,
    );
    entry.grid = dedupe(keep.flatMap((i) => candidates[i]!.regions));
    return entry.grid;
  };

  return {
    variant: prompts === 'grid' ? 'sam-grid' : 'sam-peaks',
    modelType,
    regions: prompts === 'grid' ? gridRegions : peakRegions,
    async dispose() {
      await model.dispose();
    },
  };
}

/** Regions without repeats (the first of equal patch sets stays). */
function dedupe(regions: readonly PatchRegion[]): PatchRegion[] {
  const seen = new Set<string>();
  return regions.filter((r) => {
    const key = r.join(',');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Create the segmentation selector with SAM-family masks ({@link createSamRegionSource}); the
 * selection rules are the SLIC selector's (`chooseRegions`, ADS fallback when nothing fits).
 * Options are plain JSON; bad ones throw `OptionError`, a folder that holds no SAM-family model
 * `ModelFilesError` / `ModelConfigError`. Dispose the selector to release the model.
 */
export async function createSamSegmentationSelector(options: SamSegmentationSelectorOptions): Promise<SegmentationSelector & { dispose(): Promise<void> }> {
  checkOptions(options, SELECTOR_OPTION_NAMES);
  const { name, maxRegionPatches, fill, ...regionOptions } = options;
  checkSelectionSettings({ name, maxRegionPatches, fill });
  const source = await createSamRegionSource(regionOptions);
  const selector = new SegmentationSelector({
    source,
    ...(name !== undefined ? { name } : {}),
    ...(maxRegionPatches !== undefined ? { maxRegionPatches } : {}),
    ...(fill !== undefined ? { fill } : {}),
  });
  return Object.assign(selector, { dispose: () => source.dispose() });
}

/**
 * The open-vocabulary detector grounder: OWL-ViT, OWLv2 or Grounding DINO through transformers.js's
 * `zero-shot-object-detection` pipeline, from a local folder or a hub id. Node only (it reads the
 * model folder and the hub cache); transformers.js is imported when a detector is first loaded.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IcotError, ModelConfigError, ModelFilesError, throwIfAborted, type Box, type GroundedBox, type RgbImage } from '@icot/core';
import { HubRepository, isHubId } from '@icot/hub';
import { onnxFileName, parseDtype, type OnnxDtype } from '@icot/model';
import type * as TransformersModule from '@huggingface/transformers';
import type { Grounder, GroundingRequest, GroundingResult } from './grounder.js';

/** The transformers.js module (imported on demand, so that the VLM grounder never loads it). */
type Transformers = typeof TransformersModule;

/** The detector families the grounder runs, by config.json `model_type`. */
export type DetectorKind = 'owlvit' | 'owlv2' | 'grounding-dino';

const KINDS: Readonly<Record<string, DetectorKind>> = { owlvit: 'owlvit', owlv2: 'owlv2', 'grounding-dino': 'grounding-dino' };

/** Settings of {@link createDetectorGrounder}. */
export interface DetectorGrounderSettings {
  /** A local folder (transformers.js layout: config, preprocessor and tokenizer files, `onnx/model{suffix}.onnx`) or a hub id. */
  readonly model: string;
  /** Least score of a detection (default 0.1, transformers.js's default). */
  readonly threshold?: number;
  /** Weight variant (default `fp32`). */
  readonly dtype?: string;
  /** Most boxes kept per text, the best first (default 1). */
  readonly maxBoxes?: number;
  /** Never use the network: a hub id must be in the hub cache (default false). */
  readonly offline?: boolean;
  /** Hub cache folder (default the Hugging Face hub cache). */
  readonly cacheDir?: string;
}

/** One detection as the pipeline returns it with `percentage: true`: corners normalised to the image it saw. */
export interface PipelineDetection {
  readonly score: number;
  readonly label: string;
  readonly box: { readonly xmin: number; readonly ymin: number; readonly xmax: number; readonly ymax: number };
}

/** The pipeline, as the grounder calls it. */
export type ZeroShotDetector = ((image: unknown, labels: string[], options: { threshold: number; percentage: boolean }) => Promise<PipelineDetection[]>) & {
  dispose(): Promise<void>;
};

/** The files a detector folder needs besides its graph. */
const DETECTOR_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'];
/** Files fetched from the hub when the repository has them. */
const OPTIONAL_FILES = ['special_tokens_map.json', 'vocab.json', 'merges.txt'];

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The local folder of a detector: `source` itself when it is a folder, else (a hub id) its snapshot
 * in the hub cache, after fetching the configs, the tokenizer and the graph of `dtype` (with its
 * external data) that are not cached yet. Missing files are a {@link ModelFilesError} naming them.
 */
export async function resolveDetectorFolder(source: string, dtype: OnnxDtype, settings: { readonly offline?: boolean; readonly cacheDir?: string } = {}): Promise<string> {
  const graph = `onnx/${onnxFileName('model', dtype)}`;
  if (await isDirectory(source)) {
    const folder = resolve(source);
    const missing: string[] = [];
    for (const file of [...DETECTOR_FILES, graph]) {
      try {
        await stat(join(folder, file));
      } catch {
        missing.push(file);
      }
    }
    if (missing.length)
      throw new ModelFilesError(`The detector folder ${folder} is missing ${missing.join(', ')}.`, {
        missing,
        hint: 'Pass a folder in the transformers.js layout (config, preprocessor and tokenizer files, onnx/model.onnx), e.g. a download of Xenova/owlvit-base-patch32.',
      });
    return folder;
  }
  if (!isHubId(source))
    throw new ModelFilesError(`The detector ${source} is neither a folder nor a hub id.`, { hint: 'Pass a local folder or a hub id such as Xenova/owlvit-base-patch32.' });
  const repo = new HubRepository(source, { localFilesOnly: settings.offline === true, ...(settings.cacheDir !== undefined ? { cacheDir: settings.cacheDir } : {}) });
  const { files } = await repo.resolve();
  const has = new Set(files);
  const missing = [...DETECTOR_FILES, graph].filter((file) => !has.has(file));
  if (missing.length)
    throw new ModelFilesError(`${source} has no ${missing.join(', ')}.`, {
      missing,
      hint: `Pick a weight variant the repository has (${files.filter((f) => f.startsWith('onnx/')).join(', ') || 'none'}) with detectorDtype, or another detector.`,
    });
  return repo.fetchFiles([...DETECTOR_FILES, ...OPTIONAL_FILES.filter((f) => has.has(f)), graph, ...files.filter((f) => f.startsWith(`${graph}_data`))]);
}

/** The detector family of a folder, from its `config.json` `model_type`. */
export async function detectorKind(folder: string): Promise<DetectorKind> {
  let config: { model_type?: unknown };
  try {
    config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8')) as { model_type?: unknown };
  } catch (error) {
    throw new ModelConfigError(`${join(folder, 'config.json')} cannot be read as JSON: ${(error as Error).message}`, { cause: error });
  }
  const kind = typeof config.model_type === 'string' ? KINDS[config.model_type] : undefined;
  if (!kind)
    throw new ModelConfigError(`${folder} is a '${String(config.model_type)}' model; the detector grounder runs owlvit, owlv2 and grounding-dino models.`, {
      hint: 'Use an OWL-ViT, OWLv2 or Grounding DINO export, e.g. Xenova/owlvit-base-patch32.',
    });
  return kind;
}

/** Gray of OWLv2's padding: Python's `Owlv2ImageProcessor.pad` pads rescaled pixels with 0.5, 127.5 in 8-bit (128 here). */
export const OWLV2_PAD_VALUE = 128;

/**
 * The image as OWLv2 expects it: padded to a square on the bottom and the right with gray
 * ({@link OWLV2_PAD_VALUE}), as Python's `Owlv2ImageProcessor` does before resizing
 * (transformers.js's OWLv2 processor resizes without padding, stretching non-square images). Boxes
 * the model predicts are then fractions of the square's side, max(width, height).
 */
export function padToSquare(pixels: RgbImage): RgbImage {
  const side = Math.max(pixels.width, pixels.height);
  if (side === pixels.width && side === pixels.height) return pixels;
  const data = new Uint8Array(side * side * 3).fill(OWLV2_PAD_VALUE);
  for (let y = 0; y < pixels.height; y++) data.set(pixels.data.subarray(y * pixels.width * 3, (y + 1) * pixels.width * 3), y * side * 3);
  return { width: side, height: side, data };
}

/**
 * The query a detector gets for `texts`: OWL-ViT and OWLv2 take one query per text; Grounding DINO
 * takes one text of lower-case phrases, each ending with "." (its documented prompt form).
 */
export function detectorQueries(kind: DetectorKind, texts: readonly string[]): string[] {
  if (kind !== 'grounding-dino') return [...texts];
  return [texts.map((t) => t.toLowerCase().trim().replace(/[.\s]+$/, '') + '.').join(' ')];
}

/**
 * Map the pipeline's normalised corners to original-image pixels: OWLv2 boxes are fractions of the
 * padded square's side (scale both axes by max(width, height)); OWL-ViT and Grounding DINO boxes are
 * fractions of the image's width and height. Clamped to the image; undefined without area.
 */
export function detectionToBox(kind: DetectorKind, box: PipelineDetection['box'], size: { readonly width: number; readonly height: number }): Box | undefined {
  const side = Math.max(size.width, size.height);
  const [sx, sy] = kind === 'owlv2' ? [side, side] : [size.width, size.height];
  const clamp = (v: number, max: number): number => Math.min(Math.max(v, 0), max);
  const x1 = clamp(Math.min(box.xmin, box.xmax) * sx, size.width);
  const x2 = clamp(Math.max(box.xmin, box.xmax) * sx, size.width);
  const y1 = clamp(Math.min(box.ymin, box.ymax) * sy, size.height);
  const y2 = clamp(Math.max(box.ymin, box.ymax) * sy, size.height);
  if (![x1, x2, y1, y2].every(Number.isFinite) || x2 <= x1 || y2 <= y1) return undefined;
  return { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
}

/** The text a detection grounds: its label when it is one of the texts, else the text that contains it (Grounding DINO decodes phrases from tokens). */
function textOf(label: string, texts: readonly string[]): string | undefined {
  if (texts.includes(label)) return label;
  const l = label.toLowerCase().trim();
  return texts.find((t) => t.toLowerCase().includes(l)) ?? texts.find((t) => l.includes(t.toLowerCase().trim()));
}

/**
 * An open-vocabulary detector as the grounder: each text is a query, the best `maxBoxes`
 * detections of each above the threshold are its boxes (in original-image pixels, with the
 * detector's score). Needs the query image's pixels.
 */
export class DetectorGrounder implements Grounder {
  readonly name = 'detector';
  readonly requires = { pixels: true } as const;

  constructor(
    private readonly detector: ZeroShotDetector,
    private readonly makeImage: (pixels: RgbImage) => unknown,
    /** The detector family. */
    readonly kind: DetectorKind,
    private readonly settings: { readonly threshold: number; readonly maxBoxes: number; readonly model: string },
  ) {}

  async ground(request: GroundingRequest): Promise<GroundingResult> {
    const { texts, pixels, signal } = request;
    if (!pixels) throw new IcotError('internal', "The detector grounder needs the query image's pixels, but the request has none.");
    throwIfAborted(signal);
    const variant = `detector: ${this.kind} ${this.settings.model}`;
    const input = this.kind === 'owlv2' ? padToSquare(pixels) : pixels;
    const detections = await this.detector(this.makeImage(input), detectorQueries(this.kind, texts), { threshold: this.settings.threshold, percentage: true });
    const perText = new Map<string, number>();
    const boxes: GroundedBox[] = [];
    for (const detection of [...detections].sort((a, b) => b.score - a.score)) {
      const text = textOf(detection.label, texts) ?? texts.join(' ');
      if ((perText.get(text) ?? 0) >= this.settings.maxBoxes) continue;
      const box = detectionToBox(this.kind, detection.box, pixels);
      if (!box) continue;
      perText.set(text, (perText.get(text) ?? 0) + 1);
      boxes.push({ ...box, text, score: detection.score });
    }
    return boxes.length ? { boxes, variant } : { boxes, variant, failure: `the detector found nothing above the threshold ${this.settings.threshold}` };
  }

  async dispose(): Promise<void> {
    await this.detector.dispose();
  }
}

/**
 * Load a detector grounder: resolve the folder (hub ids through `@icot/hub`, into the Hugging Face
 * hub cache), read its family, and load transformers.js's `zero-shot-object-detection` pipeline
 * from it with local files only. Throws {@link ModelFilesError} / {@link ModelConfigError} for a
 * missing or unsupported model, `OptionError` for an unknown dtype.
 */
export async function createDetectorGrounder(settings: DetectorGrounderSettings): Promise<DetectorGrounder> {
  const dtype = parseDtype(settings.dtype ?? 'fp32');
  const folder = await resolveDetectorFolder(settings.model, dtype, settings);
  const kind = await detectorKind(folder);
  const { env, pipeline, RawImage }: Transformers = await import('@huggingface/transformers');
  const wasRemote = env.allowRemoteModels;
  env.allowRemoteModels = false; // the folder is local: never reach for the network
  let detector: ZeroShotDetector;
  try {
    detector = (await pipeline('zero-shot-object-detection', folder, { local_files_only: true, dtype: dtype === 'quantized' ? 'q8' : dtype })) as unknown as ZeroShotDetector;
  } catch (error) {
    throw new ModelFilesError(`transformers.js cannot load the detector ${folder}: ${(error as Error).message}`, { cause: error });
  } finally {
    env.allowRemoteModels = wasRemote;
  }
  const makeImage = (pixels: RgbImage): unknown => new RawImage(new Uint8ClampedArray(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength), pixels.width, pixels.height, 3);
  return new DetectorGrounder(detector, makeImage, kind, { threshold: settings.threshold ?? 0.1, maxBoxes: settings.maxBoxes ?? 1, model: settings.model });
}

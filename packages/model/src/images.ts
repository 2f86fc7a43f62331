import { ModelConfigError, type EncodedImage, type RgbImage } from '@icot/core';
import { FeatureImage, idefics3Tiles, readIdefics3Config, squarePatchGrid, TiledFeatureImage, TokenImage, type ModelFamilyDescription } from '@icot/families';
import {
  clipRegion,
  preprocessClipImage,
  preprocessIdefics3Image,
  preprocessQwen2VlImage,
  readClipPreprocessorConfig,
  readIdefics3PreprocessorConfig,
  readQwen2VlPreprocessorConfig,
} from '@icot/families/preprocess';
import { floatTensor, inputSpecs, int64Tensor, readFloat, type OrtSession, type TensorFactory } from '@icot/onnx-decoding';

/** What a family's image front end is built from. */
export interface ImageContext {
  /** `preprocessor_config.json`. */
  readonly preprocessorConfig: Record<string, unknown>;
  /** `config.json`. */
  readonly config: Record<string, unknown>;
  /** `processor_config.json`, when the model has one. */
  readonly processorConfig?: Record<string, unknown>;
  readonly description: ModelFamilyDescription;
  /** The session of the family's first graph: the vision encoder, or the image tokenizer. */
  readonly session: OrtSession;
  readonly tensors: TensorFactory;
}

/** Turns a decoded image into the model's image tokens: the family's preprocessing, then its vision graph. */
export type ImageEncoder = (image: RgbImage) => Promise<EncodedImage>;

/** The element type a session wants for an input (`float32` unless its metadata says otherwise). */
const inputType = (session: OrtSession, name: string): string => inputSpecs(session).get(name)?.type ?? 'float32';

/**
 * Qwen2-VL / Qwen2.5-VL: smart resize and 2x2-merged patches (Pillow-exact), the vision encoder
 * over `pixel_values` and `grid_thw` (Qwen2-VL exports) or `image_grid_thw` (Qwen2.5-VL).
 */
export function qwen2VlImages({ preprocessorConfig, description, session, tensors }: ImageContext): ImageEncoder {
  const preprocessor = readQwen2VlPreprocessorConfig(preprocessorConfig);
  return async (image) => {
    const pixels = preprocessQwen2VlImage(image, preprocessor);
    const specs = inputSpecs(session);
    const gridName = specs.has('grid_thw') ? 'grid_thw' : specs.has('image_grid_thw') ? 'image_grid_thw' : undefined;
    if (!specs.has('pixel_values') || !gridName)
      throw new ModelConfigError(`The vision encoder's inputs are ${[...specs.keys()].join(', ')}; expected pixel_values and grid_thw (or image_grid_thw).`);
    const out = await session.run({
      pixel_values: floatTensor(tensors, specs.get('pixel_values')!.type, pixels.pixelValues, pixels.dims),
      [gridName]: int64Tensor(tensors, pixels.gridThw, [1, 3]),
    });
    const merge = preprocessor.mergeSize;
    const grid = { rows: pixels.gridThw[1] / merge, cols: pixels.gridThw[2] / merge };
    return new FeatureImage(checkedFeatures(readFloat(out[session.outputNames[0]!]!), grid.rows * grid.cols, description), description.hiddenSize, grid, size(image), undefined, image);
  };
}

/** LLaVA-style: CLIP preprocessing (Pillow-exact), a vision encoder returning features for a square patch grid. */
export function llavaImages({ preprocessorConfig, description, session, tensors }: ImageContext): ImageEncoder {
  const preprocessor = readClipPreprocessorConfig(preprocessorConfig);
  return async (image) => {
    const pixels = preprocessClipImage(image, preprocessor);
    const out = await session.run({ pixel_values: floatTensor(tensors, inputType(session, 'pixel_values'), pixels.pixelValues, pixels.dims) });
    const tensor = out[session.outputNames[0]!]!;
    const grid = squarePatchGrid(tensor.dims.length === 3 ? tensor.dims[1]! : tensor.dims[0]!);
    return new FeatureImage(checkedFeatures(readFloat(tensor), grid.rows * grid.cols, description), description.hiddenSize, grid, size(image), pixels.region, image);
  };
}

/**
 * Idefics3 / SmolVLM: the slow processor's tiling (Pillow-exact: the tiles in raster order, then
 * the global image), the vision encoder over `pixel_values` `[1, frames, 3, S, S]` (float16 where
 * the graph takes it) and `pixel_attention_mask` `[1, frames, S, S]` (bool), returning
 * `[frames, image_seq_len, hidden]` in image-token order; the result is a tiled image whose tiles
 * carry their boxes in the original image.
 */
export function idefics3Images({ preprocessorConfig, config, processorConfig, description, session, tensors }: ImageContext): ImageEncoder {
  const preprocessor = readIdefics3PreprocessorConfig(preprocessorConfig);
  const { tokensPerSide, imageSize } = readIdefics3Config(config, processorConfig);
  if (preprocessor.doImageSplitting && preprocessor.tileSize !== imageSize)
    throw new ModelConfigError(`preprocessor_config.json cuts tiles of ${preprocessor.tileSize} pixels (max_image_size.longest_edge), but the vision encoder takes ${imageSize} (vision_config.image_size).`, {
      hint: 'Use the preprocessor_config.json and config.json of the same export.',
    });
  return async (image) => {
    const pixels = preprocessIdefics3Image(image, preprocessor);
    const specs = inputSpecs(session);
    if (!specs.has('pixel_values'))
      throw new ModelConfigError(`The vision encoder's inputs are ${[...specs.keys()].join(', ')}; expected pixel_values (and pixel_attention_mask).`);
    const out = await session.run({
      pixel_values: floatTensor(tensors, specs.get('pixel_values')!.type, pixels.pixelValues, pixels.dims),
      ...(specs.has('pixel_attention_mask') ? { pixel_attention_mask: tensors('bool', pixels.pixelAttentionMask, pixels.maskDims) } : {}),
    });
    const tiles = idefics3Tiles(pixels.plan, tokensPerSide);
    const features = checkedFeatures(readFloat(out[session.outputNames[0]!]!), tiles.length * tokensPerSide * tokensPerSide, description);
    return new TiledFeatureImage(features, description.hiddenSize, tiles, size(image), image);
  };
}

/** Chameleon class: CLIP preprocessing, then the VQ image tokenizer (`image_tokenizer.onnx`) gives vocabulary ids. */
export function chameleonImages({ preprocessorConfig, session, tensors }: ImageContext): ImageEncoder {
  const preprocessor = readClipPreprocessorConfig(preprocessorConfig);
  return async (image) => {
    const pixels = preprocessClipImage(image, preprocessor);
    const out = await session.run({ pixel_values: floatTensor(tensors, inputType(session, 'pixel_values'), pixels.pixelValues, pixels.dims) });
    const ids = Int32Array.from(out[session.outputNames[0]!]!.data as BigInt64Array, (v) => Number(v));
    return new TokenImage(ids, squarePatchGrid(ids.length, 'The image tokenizer'), size(image), clipRegion(image.width, image.height, preprocessor), image);
  };
}

const size = (image: RgbImage) => ({ width: image.width, height: image.height });

/** The encoder's features, checked against the patch count and the config's hidden size. */
function checkedFeatures(features: Float32Array, patches: number, description: ModelFamilyDescription): Float32Array {
  const hidden = description.hiddenSize;
  if (features.length !== patches * hidden)
    throw new ModelConfigError(`The vision encoder returned ${features.length} values, expected ${patches} patches x ${hidden}.`, {
      hint: 'The vision encoder does not match config.json (hidden size or patch grid).',
    });
  return features;
}

import { ModelConfigError, type RgbImage } from '@icot/core';
import {
  createLlavaFamily,
  createQwen2VlFamily,
  LLAVA_MODEL_TYPES,
  llavaRope,
  preprocessClipImage,
  preprocessQwen2VlImage,
  QWEN2_VL_MODEL_TYPES,
  qwen2VlRope,
  readClipPreprocessorConfig,
  readLlavaConfig,
  readQwen2VlConfig,
  readQwen2VlPreprocessorConfig,
} from '@icot/families';
import type { HfTokenizer } from '@icot/tokenizer';
import type { EmbeddingsFamilyParts, VisionOutput } from './embeddings-model.js';
import type { ModelFolder } from './model-folder.js';
import { defaultTensorFactory as tensors, floatTensor, inputSpecs, int64Tensor, readFloat, type OrtSession } from '@icot/onnx-decoding';

/** Qwen2-VL / Qwen2.5-VL: 3-D M-RoPE, features of 2x2-merged patches, `grid_thw` or `image_grid_thw`. */
export function qwen2VlParts(folder: ModelFolder, tokenizer: HfTokenizer): EmbeddingsFamilyParts {
  const config = readQwen2VlConfig(folder.config, folder.generationConfig);
  const preprocessor = readQwen2VlPreprocessorConfig(folder.preprocessorConfig);
  return {
    family: createQwen2VlFamily({ ...config, imagePlaceholder: tokenizer.idToToken(config.imageTokenId) ?? '<|image_pad|>' }),
    rope: qwen2VlRope(config),
    hiddenSize: config.hiddenSize,
    vocabSize: config.vocabSize,
    eosTokenIds: config.eosTokenIds,
    numKeyValueHeads: config.numKeyValueHeads,
    headDim: config.headDim,
    async encodeImage(vision: OrtSession, image: RgbImage): Promise<VisionOutput> {
      const pixels = preprocessQwen2VlImage(image, preprocessor);
      const specs = inputSpecs(vision);
      const gridName = specs.has('grid_thw') ? 'grid_thw' : specs.has('image_grid_thw') ? 'image_grid_thw' : undefined;
      if (!specs.has('pixel_values') || !gridName)
        throw new ModelConfigError(`The vision encoder's inputs are ${[...specs.keys()].join(', ')}; expected pixel_values and grid_thw (or image_grid_thw).`);
      const out = await vision.run({
        pixel_values: floatTensor(tensors, specs.get('pixel_values')!.type, pixels.pixelValues, pixels.dims),
        [gridName]: int64Tensor(tensors, pixels.gridThw, [1, 3]),
      });
      const merge = preprocessor.mergeSize;
      return { features: readFloat(out[vision.outputNames[0]!]!), grid: { rows: pixels.gridThw[1] / merge, cols: pixels.gridThw[2] / merge } };
    },
  };
}

/** LLaVA-style: CLIP preprocessing, a vision encoder returning features for a fixed square patch grid, 1-D positions. */
export function llavaParts(folder: ModelFolder, tokenizer: HfTokenizer): EmbeddingsFamilyParts {
  const config = readLlavaConfig(folder.config, folder.generationConfig);
  const preprocessor = readClipPreprocessorConfig(folder.preprocessorConfig);
  return {
    family: createLlavaFamily({ imageTokenId: config.imageTokenId, imagePlaceholder: tokenizer.idToToken(config.imageTokenId) ?? '<image>' }),
    rope: llavaRope(config),
    hiddenSize: config.hiddenSize,
    vocabSize: config.vocabSize,
    eosTokenIds: config.eosTokenIds,
    numKeyValueHeads: config.numKeyValueHeads,
    headDim: config.headDim,
    async encodeImage(vision: OrtSession, image: RgbImage): Promise<VisionOutput> {
      const pixels = preprocessClipImage(image, preprocessor);
      const specs = inputSpecs(vision);
      const out = await vision.run({ pixel_values: floatTensor(tensors, specs.get('pixel_values')?.type ?? 'float32', pixels.pixelValues, pixels.dims) });
      const tensor = out[vision.outputNames[0]!]!;
      const features = readFloat(tensor);
      const count = tensor.dims.length === 3 ? tensor.dims[1]! : tensor.dims[0]!;
      const side = Math.round(Math.sqrt(count));
      if (side * side !== count)
        throw new ModelConfigError(`The vision encoder returned ${count} image tokens, which is not a square patch grid.`, {
          hint: 'Only vision encoders whose tokens form a square grid (no CLS token) are supported.',
        });
      return { features, grid: { rows: side, cols: side }, region: pixels.region };
    },
  };
}

/** Embeddings-model families this backend runs, by config `model_type`. */
export const EMBEDDINGS_FAMILIES = [
  { modelTypes: QWEN2_VL_MODEL_TYPES, parts: qwen2VlParts },
  { modelTypes: LLAVA_MODEL_TYPES, parts: llavaParts },
] as const;

import { ModelConfigError, type RgbImage } from '@icot/core';
import {
  describeModelFamily,
  FAMILY_MODEL_TYPES,
  preprocessClipImage,
  preprocessQwen2VlImage,
  readClipPreprocessorConfig,
  readQwen2VlPreprocessorConfig,
  squarePatchGrid,
} from '@icot/families';
import { defaultTensorFactory as tensors, floatTensor, inputSpecs, int64Tensor, readFloat, type OrtSession } from '@icot/onnx-decoding';
import type { HfTokenizer } from '@icot/tokenizer';
import type { EmbeddingsFamilyParts, VisionOutput } from './embeddings-model.js';
import type { ModelFolder } from './model-folder.js';

const describe = (folder: ModelFolder, tokenizer: HfTokenizer, kind: 'qwen2-vl' | 'llava') =>
  describeModelFamily(folder.config, folder.generationConfig, (id) => tokenizer.idToToken(id), [kind]);

/** Qwen2-VL / Qwen2.5-VL: 3-D M-RoPE, features of 2x2-merged patches, `grid_thw` or `image_grid_thw`. */
export function qwen2VlParts(folder: ModelFolder, tokenizer: HfTokenizer): EmbeddingsFamilyParts {
  const preprocessor = readQwen2VlPreprocessorConfig(folder.preprocessorConfig);
  return {
    ...describe(folder, tokenizer, 'qwen2-vl'),
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
  const preprocessor = readClipPreprocessorConfig(folder.preprocessorConfig);
  return {
    ...describe(folder, tokenizer, 'llava'),
    async encodeImage(vision: OrtSession, image: RgbImage): Promise<VisionOutput> {
      const pixels = preprocessClipImage(image, preprocessor);
      const specs = inputSpecs(vision);
      const out = await vision.run({ pixel_values: floatTensor(tensors, specs.get('pixel_values')?.type ?? 'float32', pixels.pixelValues, pixels.dims) });
      const tensor = out[vision.outputNames[0]!]!;
      const count = tensor.dims.length === 3 ? tensor.dims[1]! : tensor.dims[0]!;
      return { features: readFloat(tensor), grid: squarePatchGrid(count), region: pixels.region };
    },
  };
}

/** Embeddings-model families this backend runs, by config `model_type`. */
export const EMBEDDINGS_FAMILIES = [
  { modelTypes: FAMILY_MODEL_TYPES['qwen2-vl'], parts: qwen2VlParts },
  { modelTypes: FAMILY_MODEL_TYPES.llava, parts: llavaParts },
] as const;

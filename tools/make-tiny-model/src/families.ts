import { writeTinyChameleon, writeTinyLlava, writeTinyQwen25Vl, writeTinyQwen2Vl, writeTinySmolVlm, type TinyModelInfo, type WeightDtype } from '@icot/testing/models';

/** Backends of `icot run --backend`. */
export type BackendName = 'onnx' | 'transformers';

/** How to make the tiny model of one family. */
export interface TinyFamily {
  /** One line for `--help`. */
  readonly description: string;
  /** Write the model folder (the builder of `@icot/testing`). */
  readonly write: (dir: string, settings: { readonly seed: number; readonly dtype: WeightDtype }) => Promise<TinyModelInfo>;
  /** Size of the demo image (the family's native input size; SmolVLM's is split into tiles). */
  readonly image: { readonly width: number; readonly height: number };
  /** Backends that run the family (transformers.js has no Chameleon-class model). */
  readonly backends: readonly BackendName[];
}

/** Every family `make-tiny-model` writes, by `--family` name. */
export const TINY_FAMILIES = {
  'qwen2-vl': {
    description: 'Qwen2-VL: vision encoder + embeddings + M-RoPE decoder (onnx-community layout)',
    write: (dir, settings) => writeTinyQwen2Vl(dir, settings),
    image: { width: 224, height: 224 },
    backends: ['onnx', 'transformers'],
  },
  'qwen2.5-vl': {
    description: 'Qwen2.5-VL: window-attention vision encoder with image_grid_thw, M-RoPE decoder',
    write: (dir, settings) => writeTinyQwen25Vl(dir, settings),
    image: { width: 224, height: 224 },
    backends: ['onnx', 'transformers'],
  },
  llava: {
    description: 'LLaVA-style: CLIP preprocessing, fixed patch grid, 1-D RoPE decoder',
    write: (dir, settings) => writeTinyLlava(dir, settings),
    image: { width: 96, height: 96 },
    backends: ['onnx', 'transformers'],
  },
  smolvlm: {
    description: 'SmolVLM / Idefics3: 2 x 2 tiles + a global image with row/column tokens, 1-D RoPE decoder',
    write: (dir, settings) => writeTinySmolVlm(dir, settings),
    image: { width: 320, height: 240 },
    backends: ['onnx', 'transformers'],
  },
  chameleon: {
    description: 'Chameleon-class: VQ image tokenizer and a decoder over one vocabulary of text and image tokens',
    write: (dir, settings) => writeTinyChameleon(dir, settings),
    image: { width: 128, height: 128 },
    backends: ['onnx'],
  },
} as const satisfies Record<string, TinyFamily>;

/** A `--family` name. */
export type TinyFamilyName = keyof typeof TINY_FAMILIES;

/** The `--family` names, in help order. */
export const TINY_FAMILY_NAMES = Object.keys(TINY_FAMILIES) as TinyFamilyName[];

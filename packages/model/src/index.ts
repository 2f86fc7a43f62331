/**
 * Environment-neutral model assembly: a vision-language model in the onnx-community layout is put
 * together once - its family from `config.json` (a registry the type checker proves complete),
 * the family's pure logic and pixel preprocessing (`@icot/families`), the tokenizer, and its
 * graphs through a session factory - whatever the runtime (onnxruntime-node, transformers.js,
 * onnxruntime-web) and wherever the files are (`FileSource`: a folder with `@icot/model/node`,
 * URLs in a browser). Backends are thin adapters around {@link assembleModel}.
 * @module
 */
export { assembleModel, AssembledModel, checkModelFiles, modelFamilyOf, type AssembleModelOptions, type RuntimeTokenizer } from './assemble.js';
export { loadDecoder, type LoadDecoderOptions } from './decoder.js';
export { onnxFileName, parseDtype, ONNX_DTYPE_SUFFIXES, type OnnxDtype, type OnnxDtypeSetting } from './dtypes.js';
export { readJsonFile, siblingPath, type FileSource } from './files.js';
export { modelFileManifest } from './manifest.js';
export { chameleonImages, idefics3Images, llavaImages, qwen2VlImages, type ImageContext, type ImageEncoder } from './images.js';
export {
  EMBEDDINGS_GRAPHS,
  FAMILIES,
  familyFor,
  familyGraphs,
  supportedModelTypes,
  TOKEN_IDS_GRAPHS,
  type FamilyEntry,
  type FamilyKind,
} from './registry.js';
export type { GraphSource, SessionFactory } from './sessions.js';

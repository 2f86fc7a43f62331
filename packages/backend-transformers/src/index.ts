/**
 * transformers.js backend for ICoT: a thin adapter around `@icot/model`'s assembly - the sessions,
 * tokenizers and chat templates of `@huggingface/transformers`, decoded step by step with icot's
 * KV-cache loop, and the decoder's attention read from a tapped copy of its graph that
 * transformers.js loads. Images are
 * preprocessed by `@icot/families` (the Python processors' pixel_values, bit for bit), not by
 * transformers.js's image processor.
 * @module
 */
export { loadTransformersModel, type HfModel, type HfProcessor, type HfTokenizerLike, type TransformersModelOptions, type TransformersVisionLanguageModel } from './model.js';
export { tappedMirror, type TappedMirror } from './mirror.js';
export { isHubId, resolveHubFolder, type HubSettings } from './hub.js';

/**
 * Tokenizers and chat templates from Hugging Face model folders (`tokenizer.json`,
 * `tokenizer_config.json`), for backends that do their own tokenization.
 * @module
 */
export { HfTokenizer, type ChatTemplateOptions, type TokenizerFiles } from './tokenizer.js';
export { loadTokenizer } from './load.js';

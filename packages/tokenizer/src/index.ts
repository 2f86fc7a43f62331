/**
 * Tokenizers and chat templates from Hugging Face model files (`tokenizer.json`,
 * `tokenizer_config.json`), for backends that do their own tokenization. Environment-neutral:
 * `readTokenizer` reads through any file source; `@icot/tokenizer/node` loads from a folder.
 * @module
 */
export { HfTokenizer, type ChatTemplateOptions, type TokenizerFiles } from './tokenizer.js';
export { readTokenizer, type TokenizerFileReader } from './read.js';

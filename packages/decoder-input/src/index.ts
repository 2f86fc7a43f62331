/**
 * Input-end insertion, the paper's decoder: the selected patches go back in as ordinary model
 * input (features or image-token ids, framed as the family says), re-encoded through all layers.
 * @module
 */
export { createInputInsertionDecoder, InputInsertionDecoder, type InputInsertionSettings } from './input-decoder.js';

/**
 * KV-cache insertion decoders: `kv-copy` (the paper's Table 3 ablation: the selected image tokens'
 * cached keys and values are appended unchanged) and `kv-rebind` (the same with each copied key
 * rotated to its new position), swappable with input-end insertion.
 * @module
 */
export { createKvInsertionDecoder, KvInsertionDecoder, type KvInsertionMode, type KvInsertionSettings } from './kv-decoder.js';
export { rebindKeys } from './rope.js';

/**
 * Qwen2.5-VL: what differs from Qwen2-VL (vision encoder facts and its window reordering); prompt
 * layout, positions and preprocessing are the Qwen2-VL family's. Pure functions and data.
 * @module
 */
export { qwen25VlWindowIndex, readQwen25VlVisionConfig, type Qwen25VlVisionConfig, type Qwen25VlWindows } from './vision.js';

/**
 * Random patch selection, the ablation baseline of ADS: uniform, seeded, attention-free.
 * @module
 */
export { createRandomSelector, RandomSelector } from './random-selector.js';

/**
 * Segmentation selection for ICoT: the query image split into regions (SLIC superpixels, written
 * here), whole regions chosen by the attention mass they cover, so the inserted evidence is
 * spatially coherent. SAM-family masks through transformers.js are at
 * `@icot/selector-segmentation/transformers`.
 * @module
 */
export {
  createSegmentationSelector,
  createSlicRegionSource,
  checkSelectionSettings,
  SegmentationSelector,
  SEGMENTATION_DEFAULTS,
  DEFAULT_MAX_PIXELS,
  type SegmentationSelectorOptions,
  type SegmentationSelectorSettings,
  type SlicRegionOptions,
  type RegionSource,
  type RegionRequest,
} from './selector.js';
export { chooseRegions, type RegionChoice, type RegionChoiceSettings } from './choose.js';
export { regionsFromSuperpixels, type PatchRegion } from './regions.js';
export { maskRegions, stabilityScore, maskBox, boxIou, boxNms, attentionPeaks, pointGrid, type BinaryMask } from './masks.js';
export { slic, enforceConnectivity, shrinkImage, checkSlicOptions, SLIC_DEFAULTS, type SlicOptions, type Superpixels } from './slic.js';
export { rgbToLab, type LabImage } from './lab.js';

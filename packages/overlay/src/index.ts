/**
 * Draw ICoT insertions over their image as SVG strings, in any environment (no DOM, no Node
 * APIs): each insertion's attention over every patch as a heatmap with the selected patches
 * outlined and scores on hover (`renderAttentionOverlay`), its legend (`renderAttentionLegend`),
 * several insertions' selections in colours (`renderSelectionOverlay`), the perceptual colour map
 * (`attentionColor`) and XML escaping without control characters (`escapeXml`). The CLI's HTML
 * report uses it; so can evaluation reports and web pages.
 * @module
 */
export {
  ATTENTION_COLORMAP,
  ATTENTION_COLORMAP_OKLAB,
  ATTENTION_COLORMAP_SIZE,
  attentionColor,
  attentionRampDesign,
  oklabToLinearSrgb,
  srgbToOklab,
  type Oklab,
  type Rgb,
} from './colormap.js';
export { escapeXml, replaceControlCharacters } from './escape.js';
export {
  attentionRange,
  formatScore,
  normalizeAttention,
  renderAttentionLegend,
  renderAttentionOverlay,
  renderImageDefinition,
  renderSelectionOverlay,
  type AttentionLegendOptions,
  type AttentionOverlayOptions,
  type AttentionRange,
  type OverlayImageSource,
  type OverlayInsertion,
  type SelectionGroup,
  type SelectionOverlayOptions,
} from './overlay.js';

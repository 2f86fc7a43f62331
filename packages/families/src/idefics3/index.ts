/**
 * Idefics3 / SmolVLM, pure part (its preprocessing is in `@icot/families/preprocess`): the prompt
 * layout of an image (row/column separators, newlines, `<image>` runs), the family (prompt expansion
 * with each image's patch map, 1-D positions, insertion blocks), and each image token's pixel box in the
 * original image. Pure functions and data; see the package README ("Idefics3 / SmolVLM").
 * @module
 */
export { createIdefics3Family, idefics3TileGrid, type Idefics3FamilySettings } from './family.js';
export { IDEFICS3_MODEL_TYPES, readIdefics3Config, type Idefics3ModelConfig } from './config.js';
export {
  idefics3TokenBox,
  idefics3TokenBoxes,
  idefics3TokenCount,
  idefics3TokenOrigin,
  idefics3Tiles,
  type Idefics3Tile,
  type Idefics3TokenOrigin,
} from './layout.js';
export {
  expandIdefics3Prompt,
  IDEFICS3_TOKEN_TEXT,
  idefics3ImagePromptText,
  idefics3ImageTokens,
  idefics3RowColText,
  readIdefics3SpecialTokens,
  splitIdefics3Prompt,
  type ExpandedIdefics3Prompt,
  type Idefics3ImageTokens,
  type Idefics3PromptPiece,
  type Idefics3SpecialTokens,
  type Idefics3TokenRun,
} from './prompt.js';

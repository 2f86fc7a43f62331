/**
 * Grounding patch selection for ICoT: the reasoning step that just ended is turned into a box -
 * by the VLM itself in a side run on a fork of the decoding session (its native grounding form:
 * Qwen2-VL box tokens, Qwen2.5-VL `bbox_2d` JSON, or a plain-text box), or by an open-vocabulary
 * detector through transformers.js (`grounder: 'detector'`, loaded from `./detector` on first use) -
 * and the patches the box covers are selected. Without a usable box, ADS chooses and the selection
 * says why.
 * @module
 */
export { createGroundingSelector, GroundingSelector, FALLBACK_SELECTOR } from './selector.js';
export {
  ANSWER_DECODINGS,
  BOX_FORMS,
  GROUNDERS,
  GROUNDING_DEFAULTS,
  GROUNDING_TEXTS,
  PATCH_RULES,
  resolveGroundingOptions,
  type GroundingSelectorOptions,
  type ResolvedGroundingOptions,
} from './options.js';
export type { Grounder, GroundingRequest, GroundingResult } from './grounder.js';
export {
  answerPrefix,
  createVlmGrounder,
  decodeAnswer,
  groundingContinuation,
  groundingPlan,
  groundingQuestion,
  parseAnswer,
  QWEN_BOX_TOKENS,
  VlmGrounder,
  type GroundingPlan,
  type SideRunAnswer,
  type VlmGrounderSettings,
} from './vlm-grounder.js';
export { answeredBoxToImage, parseGroundingAnswer, QWEN_MERGED_PATCH_PIXELS, qwenResizedSize, type AnsweredBox, type BoxForm } from './parse.js';
export { overlapFraction, patchesForBoxes, type BoxPatches, type BoxPatchSettings } from './patches.js';
export { cleanStepText, groundingTexts, lastChars, nounPhrases } from './text.js';
export {
  bboxListGrammar,
  canWrite,
  GRAMMAR_START,
  grammarTokens,
  isComplete,
  pointPairGrammar,
  readChar,
  readEnd,
  readText,
  readToken,
  type BoxGrammar,
  type GrammarElement,
  type GrammarState,
  type GrammarToken,
} from './box-grammar.js';

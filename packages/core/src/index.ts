export type {
  Box,
  CapabilityName,
  ChatMessage,
  DecodingSessionV2,
  EncodedImage,
  ImageTile,
  InputSegment,
  KvCacheV1,
  ModelCapabilities,
  PatchCell,
  PatchGrid,
  PositionIds,
  PreparedPrompt,
  PromptImage,
  PromptInput,
  RgbImage,
  RopeDescriptionV1,
  StepInput,
  StepOutput,
  TokenizerV1,
  VisionLanguageModelV2,
} from './spec/model.js';
export type { ExpandedPrompt, FamilyDefaults, InsertionBlock, ModelFamilyV2, PatchLayout } from './spec/family.js';
export type { GroundedBox, PatchSelection, PatchSelectorV2, SelectionFallback, SelectionRequest, SelectorRequirements, SideRunContext } from './spec/selector.js';
export type { DecoderRequirements, InsertionDecoderV2, InsertionRequest, InsertionResult } from './spec/decoder.js';
export type { LayerSelection, StepSignals, TriggerContext, TriggerRun, TriggerSignalRequest, TriggerV2 } from './spec/trigger.js';
export {
  AbortedError,
  AttentionUnavailableError,
  CapabilityError,
  IcotError,
  ImageError,
  ModelConfigError,
  ModelFilesError,
  NetworkError,
  OptionError,
  PromptError,
  SelectionError,
  errorDocument,
  JSON_SCHEMA_VERSION,
  throwIfAborted,
  type ErrorPayload,
  type IcotErrorCode,
  type IcotErrorOptions,
} from './errors.js';
export { createRandom, type Random } from './random.js';
export { TokenSampler, validateSampling, type SamplingOptions } from './sampling.js';
export { createSignalTrigger, type SignalTriggerSettings } from './trigger.js';
export { TextStreamer } from './text-stream.js';
export { concatPositions, maxPosition, segmentLength, sequentialPositions, slicePositions } from './positions.js';
export { contiguousCacheIndices, gatherByCacheIndex, gatherPositions, imageLayout, imageTiles, massAt, patchCell, type ImageLayout } from './patches.js';
export { resolveLayerSelection } from './layers.js';
export { configFields, type ConfigFields } from './config.js';
export {
  generateICoT,
  streamICoT,
  type ICoTEvent,
  type ICoTOptions,
  type ICoTResult,
  type ICoTSettings,
  type ICoTTimings,
  type InsertionRecord,
  type QueryImageLayout,
} from './generate.js';
export { checkMinTokens, checkOptionKeys, insertionSpacing, optionOr, showOptionValue, type InsertionSpacing } from './trigger-options.js';
export { fromWireError, toWireError, type WireError } from './wire-error.js';

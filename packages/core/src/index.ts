export type {
  Box,
  ChatMessage,
  DecodingSessionV1,
  KvCacheV1,
  EncodedImage,
  InputSegment,
  ModelCapabilities,
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
  VisionLanguageModelV1,
} from './spec/model.js';
export type { FamilyDefaults, InsertionBlock, ModelFamilyV1, PatchLayout } from './spec/family.js';
export type { PatchSelection, PatchSelectorV1, SelectionRequest } from './spec/selector.js';
export type { InsertionDecoderV1, InsertionRequest, InsertionResult } from './spec/decoder.js';
export type { TriggerContext, TriggerRun, TriggerV1 } from './spec/trigger.js';
export {
  AbortedError,
  AttentionUnavailableError,
  IcotError,
  ImageError,
  ModelConfigError,
  ModelFilesError,
  NetworkError,
  OptionError,
  PromptError,
  SelectionError,
  throwIfAborted,
  type IcotErrorCode,
  type IcotErrorOptions,
} from './errors.js';
export { createRandom, type Random } from './random.js';
export { TokenSampler, validateSampling, type SamplingOptions } from './sampling.js';
export { createSignalTrigger, type SignalTriggerSettings } from './trigger.js';
export { TextStreamer } from './text-stream.js';
export { concatPositions, maxPosition, segmentLength, sequentialPositions, slicePositions } from './positions.js';
export {
  generateICoT,
  streamICoT,
  type ICoTEvent,
  type ICoTOptions,
  type ICoTResult,
  type ICoTTimings,
  type InsertionRecord,
} from './generate.js';

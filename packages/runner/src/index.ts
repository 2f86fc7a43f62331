/**
 * Run one whole ICoT run in a child process: a serialisable {@link RunDescription} in (model,
 * images, prompt, strategies by name), typed {@link RunEvent}s and the {@link RunOutcome} out,
 * errors as the same typed `IcotError`s. Cancel at any moment with an AbortSignal: the child is
 * killed, even in the middle of a native onnxruntime run. This entry point loads no model code;
 * `@icot/runner/in-process` runs a description in the calling process.
 * @module
 */
export {
  BACKENDS,
  DECODERS,
  SELECTORS,
  TRIGGERS,
  checkRunDescription,
  checkSignalTokenIds,
  type DecoderDescription,
  type EncodedImageInfo,
  type ImageSource,
  type LoadedModelInfo,
  type ModelDescription,
  type PromptDescription,
  type RunDescription,
  type RunEvent,
  type RunnerEvent,
  type RunOutcome,
  type RunRecord,
  type SelectorDescription,
  type TriggerDescription,
} from './description.js';
export { FileHasher, sha256Of, type FileHash } from './record.js';
export { ChildRunner, createChildRunner, runInChildProcess, type ChildRunnerOptions, type RunCallOptions } from './runner.js';
export { fromWireError, toWireError, type WireError } from './wire-error.js';

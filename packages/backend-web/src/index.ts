/**
 * The browser backend of icot: onnxruntime-web (WebAssembly; WebGPU where the browser has it)
 * under `@icot/model`'s assembly - model files from URLs through the Cache API, sessions made from
 * their bytes with external data, the decoder's attention tapped for the execution provider it
 * runs on - plus Pillow-exact PNG decoding in the page. Run models in a Web Worker:
 * `@icot/backend-web/worker` serves runs there and `@icot/backend-web/client` drives them from the
 * page (cancellable at any moment).
 * @module
 */
export { DEFAULT_MODEL_CACHE, memoryFileSource, urlFileSource, type FileProgress, type UrlFileSourceOptions } from './files.js';
export { decodeBrowserImage, type BrowserDecodeOptions } from './image.js';
export { loadWebModel, type LoadWebModelOptions, type WebModel } from './load.js';
export {
  configureOnnxRuntimeWeb,
  ONNXRUNTIME_WEB_FILES,
  ONNXRUNTIME_WEB_VERSION,
  resolveWebDevice,
  webSessionFactory,
  webTensorFactory,
  type OnnxRuntimeWebSettings,
  type WebDevice,
  type WebExecutionProvider,
  type WebSessionSettings,
} from './sessions.js';
export {
  fromWireError,
  toWireError,
  type PageMessage,
  type WorkerMessage,
  type WebEncodedImageInfo,
  type WebLoadedModelInfo,
  type WebModelDescription,
  type WebRunDescription,
  type WebRunEvent,
  type WebRunnerEvent,
  type WebRunOutcome,
  type WireError,
} from './protocol.js';
export { serveWebRuns, type ServeWebRunsOptions, type WebStrategies, type WorkerScope } from './worker.js';

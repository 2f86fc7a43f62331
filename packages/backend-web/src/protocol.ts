import { fromWireError, toWireError, type ICoTEvent, type ICoTResult, type SamplingOptions, type WireError } from '@icot/core';

/** The model a browser run uses. Runs with equal descriptions share one loaded model in the worker. */
export interface WebModelDescription {
  /** URL of the model folder (onnx-community layout), absolute or relative to the worker's location. */
  readonly source: string;
  /** Weight variant: fp32 (default), fp16, q8, q4, q4f16 ... */
  readonly dtype?: string;
  /** `wasm` (default), `webgpu` or `auto` (WebGPU where the browser has an adapter). */
  readonly device?: 'wasm' | 'webgpu' | 'auto';
  /** Decoder layers whose attention is averaged for ADS (default all). */
  readonly attentionLayers?: 'all' | readonly number[] | { readonly last: number };
  /** Cache API storage for the model files (default `icot-models`; false = none). */
  readonly cache?: string | false;
}

/**
 * One whole ICoT run in the browser, as plain data (structured-clone serialisable): the fields and
 * defaults of `@icot/runner`'s RunDescription, with the model at a URL and the images as bytes.
 * `selector`, `decoder` and `trigger` are handed as they are to the worker's `createStrategies`.
 */
export interface WebRunDescription {
  readonly model: WebModelDescription;
  /** Images in prompt order (the query image first): PNG or JPEG bytes, decoded in the worker. */
  readonly images: readonly { readonly bytes: Uint8Array; readonly name?: string }[];
  /** Refuse images whose header declares more pixels than this (default Pillow's `MAX_IMAGE_PIXELS`). */
  readonly maxImagePixels?: number;
  /** Transparent images: `composite` over white (default) or `drop` the alpha channel. */
  readonly imageAlpha?: 'composite' | 'drop';
  /** JPEG decoding: the browser's decoder (default) or jpeg-js (see `decodeBrowserImage`). */
  readonly jpegDecoder?: 'browser' | 'jpeg-js';
  /** The prompt: a question formatted with the model's chat template, or an already formatted prompt. */
  readonly prompt: { readonly question: string } | { readonly text: string };
  readonly selector?: { readonly name: string; readonly options?: Readonly<Record<string, unknown>> };
  readonly decoder?: { readonly name: string; readonly layout?: 'grid' | 'source'; readonly delimiters?: boolean };
  readonly trigger?: {
    readonly name?: string;
    readonly options?: Readonly<Record<string, unknown>>;
    readonly signal?: 'newline' | { readonly tokenIds: readonly number[] };
    readonly every?: number;
  };
  /** Patches per insertion (default: the family's). */
  readonly k?: number;
  /** Most insertions per answer (default 3; 0 = plain decoding). */
  readonly maxInsertions?: number;
  readonly insertAfterPrompt?: boolean;
  readonly excludeSelected?: boolean;
  /** Most generated tokens (default 128). */
  readonly maxNewTokens?: number;
  readonly sampling?: SamplingOptions;
}

/** Size and patch grid of an encoded image. */
export interface WebEncodedImageInfo {
  readonly width: number;
  readonly height: number;
  readonly rows: number;
  readonly cols: number;
  readonly tiles: number;
  readonly patches: number;
}

/** The loaded model, as reported to the page. */
export interface WebLoadedModelInfo {
  readonly modelId: string;
  readonly family: string;
  readonly provider: string;
  /** The execution providers its sessions run on. */
  readonly executionProviders: readonly string[];
}

/** Events before generation: loading (with file progress) and image encoding. */
export type WebRunnerEvent =
  | { readonly type: 'model-loading'; readonly source: string }
  /** A model file being read: from the network, or the Cache API (`cached`). */
  | { readonly type: 'download'; readonly file: string; readonly loaded: number; readonly total: number | undefined; readonly cached: boolean; readonly done: boolean }
  | ({ readonly type: 'model-loaded'; readonly reused: boolean } & WebLoadedModelInfo)
  | { readonly type: 'images-encoded'; readonly images: readonly WebEncodedImageInfo[] };

/** Everything a browser run reports, in order: loading, image encoding, then `streamICoT`'s events. */
export type WebRunEvent = WebRunnerEvent | ICoTEvent;

/** What a finished browser run returns. */
export interface WebRunOutcome {
  readonly result: ICoTResult;
  readonly model: WebLoadedModelInfo;
  readonly images: readonly WebEncodedImageInfo[];
  /** Text of each generated token on its own, in order. */
  readonly tokenTexts: readonly string[];
}

/** Page -> worker. */
export type PageMessage =
  | { readonly type: 'run'; readonly id: number; readonly description: WebRunDescription }
  | { readonly type: 'abort'; readonly id: number }
  | { readonly type: 'release' };

/** Worker -> page. */
export type WorkerMessage =
  | { readonly type: 'event'; readonly id: number; readonly event: WebRunEvent }
  | { readonly type: 'done'; readonly id: number; readonly outcome: WebRunOutcome }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError }
  | { readonly type: 'released' };

// Errors cross the worker boundary as @icot/core's wire errors (the same as @icot/runner's child processes).
export { fromWireError, toWireError, type WireError };

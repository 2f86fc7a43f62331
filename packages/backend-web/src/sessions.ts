import * as ort from 'onnxruntime-web';
import { ModelFilesError, OptionError } from '@icot/core';
import { siblingPath, type FileSource, type SessionFactory } from '@icot/model';
import { fusedAttentionTapFor, type OrtSession, type TensorFactory } from '@icot/onnx-decoding';
import { ONNXRUNTIME_WEB_FILES } from './sessions-files.js';

export { ONNXRUNTIME_WEB_FILES };

/** Execution providers of onnxruntime-web this backend runs on. */
export type WebExecutionProvider = 'wasm' | 'webgpu';

/**
 * Where the model runs: `wasm` (onnxruntime's CPU kernels compiled to WebAssembly; the same
 * numerics as onnxruntime-node's CPU provider), `webgpu` (the GPU through WebGPU, with wasm for
 * the operators it lacks), or `auto` (WebGPU where the browser gives an adapter, else wasm).
 */
export type WebDevice = WebExecutionProvider | 'auto';


/** The onnxruntime-web version this package is built and tested with (the same as onnxruntime-node's in icot). */
export const ONNXRUNTIME_WEB_VERSION = '1.30.0';

/** Process-wide settings of onnxruntime-web (they apply to every session created afterwards). */
export interface OnnxRuntimeWebSettings {
  /**
   * URL prefix (ending in `/`) where the page serves {@link ONNXRUNTIME_WEB_FILES}, e.g. `/ort/`.
   * Without it onnxruntime-web looks next to its own script, which bundlers may move.
   */
  readonly wasmPaths?: string;
  /**
   * WebAssembly threads (default: onnxruntime-web's choice - several only where the page is
   * cross-origin isolated, i.e. served with COOP `same-origin` and COEP `require-corp`, so that
   * SharedArrayBuffer exists; 1 otherwise).
   */
  readonly numThreads?: number;
}

/** Apply {@link OnnxRuntimeWebSettings} to onnxruntime-web's `env` (call it before loading a model). */
export function configureOnnxRuntimeWeb(settings: OnnxRuntimeWebSettings): void {
  if (settings.wasmPaths !== undefined) {
    if (!settings.wasmPaths.endsWith('/')) throw new OptionError(`wasmPaths '${settings.wasmPaths}' must end with '/'.`, { hint: "Pass the folder URL the .wasm files are served from, e.g. '/ort/'." });
    ort.env.wasm.wasmPaths = settings.wasmPaths;
  }
  if (settings.numThreads !== undefined) {
    if (!Number.isInteger(settings.numThreads) || settings.numThreads < 1) throw new OptionError(`numThreads must be an integer >= 1, got ${settings.numThreads}.`, { hint: 'Use 1 where the page is not cross-origin isolated.' });
    ort.env.wasm.numThreads = settings.numThreads;
  }
  // the backend already runs in a worker of its own: no extra proxy worker
  ort.env.wasm.proxy = false;
}

/**
 * The execution providers `device` means here: `auto` asks the browser for a WebGPU adapter
 * (`navigator.gpu.requestAdapter()`) and falls back to wasm when there is none.
 */
export async function resolveWebDevice(device: WebDevice = 'wasm'): Promise<readonly WebExecutionProvider[]> {
  if (device === 'wasm') return ['wasm'];
  if (device === 'webgpu') return ['webgpu', 'wasm'];
  if (device !== 'auto') throw new OptionError(`Unknown device '${String(device)}'.`, { hint: "Use 'wasm', 'webgpu' or 'auto'." });
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  return adapter ? ['webgpu', 'wasm'] : ['wasm'];
}

/** Tensors of onnxruntime-web (its sessions accept only its own Tensor class). */
export const webTensorFactory: TensorFactory = (type, data, dims) => new ort.Tensor(type, data as Float32Array, dims);

/** Settings of {@link webSessionFactory}. */
export interface WebSessionSettings {
  /** Execution providers in order (default `['wasm']`); see {@link resolveWebDevice}. */
  readonly executionProviders?: readonly WebExecutionProvider[];
}

/**
 * The session factory of a model on onnxruntime-web: each graph's bytes are read from `files`
 * (URLs, the Cache API, memory ...) with the external data files it references, and handed to
 * onnxruntime-web. Fused attention is tapped through its attention output on wasm and recomputed
 * from plain operators on WebGPU (see `fusedAttentionTapFor`).
 */
export function webSessionFactory(files: FileSource, settings: WebSessionSettings = {}): SessionFactory {
  const executionProviders = [...(settings.executionProviders ?? ['wasm'])];
  return {
    tensors: webTensorFactory,
    fusedAttentionTap: fusedAttentionTapFor(executionProviders),
    async createSession(graph) {
      const bytes = graph.bytes ?? (await files.readBytes(graph.file));
      const externalData = await Promise.all(graph.externalDataFiles.map(async (path) => ({ path, data: await files.readBytes(siblingPath(graph.file, path)) })));
      try {
        const session = await ort.InferenceSession.create(bytes, {
          executionProviders,
          graphOptimizationLevel: 'all',
          ...(externalData.length ? { externalData } : {}),
        });
        return yieldingSession(session as unknown as OrtSession);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (executionProviders.includes('webgpu') && /webgpu|adapter/i.test(message))
          throw new OptionError(`onnxruntime-web cannot start WebGPU for ${graph.label}: ${message}`, {
            hint: "Use device 'wasm' (or 'auto', which checks for an adapter first); WebGPU needs a browser with navigator.gpu and a GPU adapter.",
            cause: error,
          });
        throw new ModelFilesError(`onnxruntime-web cannot load ${graph.label}: ${message}`, {
          hint: `Check that the file is complete and was exported for onnxruntime ${ONNXRUNTIME_WEB_VERSION}; and that the page serves onnxruntime-web's .wasm files (wasmPaths).`,
          cause: error,
        });
      }
    },
  };
}

/**
 * A macrotask boundary: in a worker, a message that arrived (an `abort`) is handled before the
 * next model call. onnxruntime-web's wasm runs settle through microtasks only, so without it a
 * whole generation would run before the worker saw any message. Uses setImmediate where it exists
 * (Node), else a MessageChannel (no 4 ms clamp as nested setTimeouts get).
 */
function nextTask(): Promise<void> {
  const scope = globalThis as { setImmediate?: (callback: () => void) => unknown };
  if (scope.setImmediate) return new Promise((resolve) => void scope.setImmediate!(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** `session` with each run starting on a new macrotask (see {@link nextTask}). */
function yieldingSession(session: OrtSession): OrtSession {
  return {
    get inputNames() {
      return session.inputNames;
    },
    get outputNames() {
      return session.outputNames;
    },
    get inputMetadata() {
      return session.inputMetadata;
    },
    async run(feeds, fetches) {
      await nextTask();
      return fetches ? session.run(feeds, fetches) : session.run(feeds);
    },
    release: () => session.release(),
  };
}

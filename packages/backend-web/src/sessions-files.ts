/**
 * The files of onnxruntime-web 1.30's default build (`import 'onnxruntime-web'`: WebAssembly and
 * WebGPU through JSEP) that the page's origin must serve under `wasmPaths` - no CDN is used. Copy
 * them from `node_modules/onnxruntime-web/dist/` (`onnxRuntimeWebAssets()` of `@icot/backend-web/assets`).
 */
export const ONNXRUNTIME_WEB_FILES: readonly string[] = ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.mjs'];

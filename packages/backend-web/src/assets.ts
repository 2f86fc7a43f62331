/**
 * Node entry of `@icot/backend-web`: where onnxruntime-web's WebAssembly files are on disk, for a
 * server or build step that serves them from the app's own origin (no CDN).
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ONNXRUNTIME_WEB_FILES } from './sessions-files.js';

export { ONNXRUNTIME_WEB_FILES };

/** The `dist/` folder of the onnxruntime-web this package depends on. */
export function onnxRuntimeWebDir(): string {
  // onnxruntime-web's exports map resolves its Node build (dist/ort.node.min.js) here, which sits in dist/
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

/**
 * The files the page must serve under `wasmPaths` ({@link ONNXRUNTIME_WEB_FILES}), with their paths
 * on disk: copy them into the app's static folder at build time, or serve them from here.
 */
export function onnxRuntimeWebAssets(): readonly { readonly name: string; readonly path: string }[] {
  const dir = onnxRuntimeWebDir();
  return ONNXRUNTIME_WEB_FILES.map((name) => ({ name, path: join(dir, name) }));
}

/**
 * Module aliases a bundler (Vite `resolve.alias`, esbuild `alias`) needs to put icot's browser
 * code in a page: `pngjs` (the PNG decoder of `@icot/image`) has no `browser` field, so its Node
 * build - which requires zlib, stream and util - must be swapped for the browser build it ships
 * (`pngjs/browser.js`). Paths are absolute (resolved from `@icot/image`, since a pnpm app cannot
 * resolve its dependencies' dependencies by name).
 */
export function browserBundleAliases(): Readonly<Record<string, string>> {
  const image = createRequire(import.meta.url).resolve('@icot/image/package.json');
  return { pngjs: createRequire(image).resolve('pngjs/browser.js') };
}

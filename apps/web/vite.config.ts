import { createReadStream } from 'node:fs';
import { cp, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import { demoModel } from '@icot/demo-model';

// The page is built from the workspace packages' TypeScript sources (the @icot/source export
// condition), so it needs no build of them first. Everything it loads is served by the app itself
// (no CDN): the demo model's files are copied to demo-model/ for the in-browser mode.

const require = createRequire(import.meta.url);
const demoModelDir = join(dirname(require.resolve('@icot/demo-model/package.json')), 'model');
/** pngjs (the PNG decoder of @icot/image) has no browser field: its browser build, resolved from @icot/image (as @icot/backend-web's browserBundleAliases gives it). */
const pngjsBrowser = createRequire(require.resolve('@icot/image/package.json')).resolve('pngjs/browser.js');

/** demo-model/icot-demo.json: the demo's question and signal tokens (its random weights almost never write a line break). */
const demoInfo = JSON.stringify({ question: demoModel.question, signalTokenIds: demoModel.signalTokenIds, label: demoModel.label });

/** Cross-origin isolation (SharedArrayBuffer for onnxruntime-web's threads), as icot web serves it. */
const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** The demo model's folder at demo-model/ (and its icot-demo.json): copied into the build, served by the dev server. */
function demoModelFiles(): Plugin {
  return {
    name: 'icot-demo-model-files',
    configureServer(server) {
      server.middlewares.use('/demo-model', (request, response, next) => {
        const path = decodeURIComponent((request.url ?? '/').split('?')[0]!);
        if (path.includes('..')) return next();
        if (path === '/icot-demo.json') {
          response.setHeader('content-type', 'application/json');
          return void response.end(demoInfo);
        }
        const file = join(demoModelDir, path);
        stat(file).then(
          (info) => {
            if (!info.isFile()) return next();
            response.setHeader('content-length', String(info.size));
            createReadStream(file).pipe(response);
          },
          () => next(),
        );
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'demo-model/icot-demo.json', source: demoInfo });
    },
    async writeBundle(options) {
      await cp(demoModelDir, join(options.dir!, 'demo-model'), { recursive: true });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('./app', import.meta.url)),
  base: './',
  resolve: { conditions: ['@icot/source', ...defaultClientConditions], alias: { pngjs: pngjsBrowser } },
  build: {
    outDir: fileURLToPath(new URL('./dist/app', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 4096,
  },
  worker: { format: 'es' },
  plugins: [demoModelFiles()],
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});

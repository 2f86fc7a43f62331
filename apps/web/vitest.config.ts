import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// The shared settings, plus a global setup that builds the page (Vite) for the tests that serve it.
export default mergeConfig(
  shared,
  defineConfig({
    test: { globalSetup: [fileURLToPath(new URL('./test/helpers/build-app.ts', import.meta.url))] },
  }),
);

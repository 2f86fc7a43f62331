import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: tests run against package sources (the `@icot/source` export
 * condition), so no build is needed between editing a package and testing its dependents. The
 * cache guard points the hub and icot caches at temporary folders for the run and fails it when
 * the user's real caches changed.
 */
export default defineConfig({
  resolve: { conditions: ['@icot/source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['@icot/source', 'module', 'node', 'import', 'default'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    passWithNoTests: true,
    globalSetup: [fileURLToPath(new URL('./packages/testing/src/cache-guard.ts', import.meta.url))],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

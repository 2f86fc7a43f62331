import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: tests run against package sources (the `@icot/source` export
 * condition), so no build is needed between editing a package and testing its dependents.
 */
export default defineConfig({
  resolve: { conditions: ['@icot/source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['@icot/source', 'module', 'node', 'import', 'default'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    passWithNoTests: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

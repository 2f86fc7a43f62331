import { defineConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

/** Runs the deliberately broken implementations of `broken/` (see src/suites-catch-breakage.test.ts). */
export default defineConfig({ ...shared, test: { ...shared.test, include: ['broken/**/*.suite.ts'] } });

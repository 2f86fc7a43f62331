/**
 * vitest global setup: builds the page from the current sources with Vite into a temporary folder
 * (tests serve it with `startWebServer({ appDir })`), so tests never depend on a stale dist/app.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The page built for this test run. */
    appDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { build } = await import('vite');
  const dir = await mkdtemp(join(tmpdir(), 'icot-web-app-'));
  await build({
    configFile: fileURLToPath(new URL('../../vite.config.ts', import.meta.url)),
    build: { outDir: dir, emptyOutDir: true },
    logLevel: 'warn',
  });
  project.provide('appDir', dir);
  return () => rm(dir, { recursive: true, force: true });
}

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** How a process ended, with everything it wrote. */
export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The `icot` command on its sources: node with the `@icot/source` condition and tsx's loader (by
 * path, so it resolves from any working directory), then `src/bin.ts`.
 */
export const ICOT_FROM_SOURCES: readonly string[] = [
  process.execPath,
  '--conditions=@icot/source',
  '--import',
  new URL('../../../../node_modules/tsx/dist/loader.mjs', import.meta.url).href,
  fileURLToPath(new URL('../../src/bin.ts', import.meta.url)),
];

/** Run `command` to its end in `cwd` (stdin closed, as in CI). */
export function runProcess(command: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

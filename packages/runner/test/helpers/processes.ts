import { readFileSync } from 'node:fs';

/** Whether `pid` is a live process (a zombie that nobody reaped yet counts as ended). Linux /proc. */
export function isRunning(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Poll until `pid` has ended; resolves with the milliseconds it took, or rejects after `timeoutMs`. */
export async function waitForEnd(pid: number, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (isRunning(pid)) {
    if (performance.now() - start > timeoutMs) throw new Error(`process ${pid} still runs after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - start;
}

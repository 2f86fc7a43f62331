import { readFileSync } from 'node:fs';

/**
 * Peak resident memory of this process in kB: VmHWM from /proc (reset by exec, unlike getrusage's
 * maxrss, which a child inherits from a large parent on Linux), else maxrss.
 */
export function peakKb(): number {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS;
}

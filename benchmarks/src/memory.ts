import { readFileSync, writeFileSync } from 'node:fs';

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

/**
 * Reset this process's peak-RSS counter (VmHWM) to its current RSS, so a later {@link peakKb}
 * measures one phase (Linux: `5` written to /proc/self/clear_refs). Returns false where unsupported.
 */
export function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Current resident memory of this process in kB (VmRSS), or 0 where unknown. */
export function currentKb(): number {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

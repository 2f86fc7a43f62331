import { readFileSync } from 'node:fs';

/** A process as /proc/<pid>/stat describes it. */
interface ProcessStat {
  readonly ppid: number;
  readonly pgrp: number;
  /** Start time in clock ticks after boot (tells a reused pid apart). */
  readonly start: string;
}

function readStat(pid: number | 'self'): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), pgrp: Number(fields[2]), start: fields[19] ?? '' };
}

/**
 * A check that says whether the process that started this one is gone. The parent is watched
 * (`process.ppid` changes when it dies and this process is re-parented), and on Linux also every
 * ancestor in this process's own process group: the wrappers of one command, e.g.
 * `pnpm -> sh -> node`, where `sh` outlives a killed `pnpm`, and the first ancestor outside the
 * group (the shell or program that ran the command). An ancestor counts as gone when it no longer
 * exists or is another process now (pid reused); one in the group also when it was re-parented.
 */
export function parentWatch(): () => string | undefined {
  const parent = process.ppid;
  const self = readStat('self');
  const chain: { readonly pid: number; readonly stat: ProcessStat; readonly inGroup: boolean }[] = [];
  if (self) {
    for (let pid = parent; pid > 1 && chain.length < 16; ) {
      const stat = readStat(pid);
      if (!stat) break;
      const inGroup = stat.pgrp === self.pgrp;
      chain.push({ pid, stat, inGroup });
      if (!inGroup) break; // the first ancestor outside the group must live; its own parents are not watched
      pid = stat.ppid;
    }
  }
  return () => {
    if (process.ppid !== parent) return `the parent process ${parent} is gone`;
    for (const { pid, stat, inGroup } of chain) {
      const now = readStat(pid);
      if (!now || now.start !== stat.start) return `the process ${pid} that started this one is gone`;
      if (inGroup && now.ppid !== stat.ppid) return `the parent of process ${pid} is gone`;
    }
    return undefined;
  };
}

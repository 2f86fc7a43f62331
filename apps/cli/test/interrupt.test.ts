import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, writeSlowPrefillModel } from '@icot/testing';

// Ctrl-C during a long prefill: the signal goes to the process group of the command, as a terminal
// sends it. The model runs in a child process, so the CLI ends at once instead of after the native
// onnxruntime run (which cannot be interrupted in-process).

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

/** State letter and parent pid of a process, from /proc (undefined once it is gone). */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

const isRunning = (pid: number): boolean => {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
};

/** Every live descendant of `pid`. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const child = Number(name);
    if (!Number.isInteger(child)) continue;
    const stat = procStat(child);
    if (stat && isRunning(child)) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), child]);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

let dir: string;
let runArgs: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icot-interrupt-'));
  const slow = await writeSlowPrefillModel(join(dir, 'slow'));
  const prompt = join(dir, 'prompt.txt');
  await writeFile(prompt, slow.longPromptText);
  // one onnxruntime thread: this prefill takes >= 5 s on a 2-core machine (measured 7-19 s here)
  runArgs = ['run', '--model', slow.dir, '--image', fixturePath('tiny-qwen2-vl', 'image.png'), '--raw-prompt-file', prompt, '--threads', '1', '--max-new-tokens', '4'];
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Interrupted {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** From the signal to the exit of the spawned process (all its output closed). */
  readonly exitMs: number;
  /** Processes below the spawned one while it was in its prefill (the CLI, the model's child process). */
  readonly processes: readonly number[];
}

/** Spawn `command` in its own process group, signal the group 300 ms into the prefill, wait for the exit. */
function interruptDuringPrefill(command: string, args: readonly string[], signal: NodeJS.Signals = 'SIGINT'): Promise<Interrupted> {
  const child = spawn(command, args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let sentAt: number | undefined;
  let processes: number[] = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
    if (sentAt === undefined && /icot: prefill of \d+ tokens/.test(stderr)) {
      sentAt = Infinity;
      setTimeout(() => {
        processes = descendants(child.pid!);
        sentAt = performance.now();
        process.kill(-child.pid!, signal);
      }, 300);
    }
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, exitMs: performance.now() - (sentAt ?? NaN), processes })),
  );
}

async function expectAllEnded(pids: readonly number[]): Promise<void> {
  const deadline = performance.now() + 5000;
  while (pids.some(isRunning) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(pids.filter(isRunning)).toEqual([]);
}

describe('Ctrl-C (SIGINT) or SIGTERM to the process group during a long prefill', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`node bin, ${signal}: exits 130 at once, prints "cancelled", leaves no process behind`, async () => {
      const r = await interruptDuringPrefill(process.execPath, ['--conditions=@icot/source', '--import', 'tsx', bin, ...runArgs], signal);
      console.log(`icot run (node, sources): ${signal} mid-prefill -> exit ${r.code} after ${r.exitMs.toFixed(0)} ms`);
      expect(r.stderr).toMatch(/icot: cancelled/);
      expect(r.code).toBe(130);
      expect(r.stdout).toBe(''); // no token was generated: the prefill never finished
      expect(r.exitMs).toBeLessThan(5000); // long before the prefill (>= 5 s) could have finished
      expect(r.processes.length).toBeGreaterThan(0); // the model's child process
      await expectAllEnded(r.processes);
    });
  }

  it('pnpm --silent icot run: the command ends at once with SIGINT status, no process left', async () => {
    const r = await interruptDuringPrefill('pnpm', ['--silent', 'icot', ...runArgs]);
    // pnpm itself dies of the SIGINT (a shell shows 130); the CLI below it handled the signal
    console.log(`pnpm --silent icot run: SIGINT mid-prefill -> pnpm ${r.signal ?? `exit ${r.code}`} after ${r.exitMs.toFixed(0)} ms`);
    expect(r.code === 130 || r.signal === 'SIGINT').toBe(true);
    expect(r.stderr).toMatch(/icot: cancelled/);
    expect(r.stdout).toBe('');
    expect(r.exitMs).toBeLessThan(5000);
    expect(r.processes.length).toBeGreaterThan(1); // the CLI and the model's child process
    await expectAllEnded(r.processes);
  }, 180_000); // pnpm builds what changed first
});

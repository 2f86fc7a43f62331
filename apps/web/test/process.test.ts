import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { JSON_SCHEMA_VERSION } from '@icot/core';
import { postRun, rawRequest, readEvents } from './helpers/http.js';

// `pnpm --silent icot web --port 8791` as people start it: a real pnpm -> sh -> node process
// group, in its own group here so that it can be signalled as a terminal would.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PORT = 8791;
const URL_ = `http://127.0.0.1:${PORT}/`;

/** The state letter of /proc/<pid>/stat (undefined when the process is gone), and its parent. */
function procStat(pid: number): { readonly state: string; readonly ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}
const alive = (pid: number): boolean => {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
};

/** Every living descendant of `pid`. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const child = Number(name);
    const stat = Number.isInteger(child) ? procStat(child) : undefined;
    if (stat && stat.state !== 'Z') children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), child]);
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

async function waitFor(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

const portOpen = (): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(PORT, '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });

interface Started {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<void>;
}

let current: Started | undefined;
afterEach(async () => {
  // never leave a server behind, whatever failed
  if (current?.child.pid && alive(current.child.pid)) {
    for (const pid of [current.child.pid, ...descendants(current.child.pid)]) process.kill(pid, 'SIGKILL');
  }
  current = undefined;
});

/** Start `pnpm --silent icot web --port 8791` in its own process group; resolves once stdout printed the address. */
async function startCommand(): Promise<Started> {
  const child = spawn('pnpm', ['--silent', 'icot', 'web', '--port', String(PORT)], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  current = { child, stderr: () => stderr, exited };
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve();
    });
    void exited.then(() => reject(new Error(`icot web ended before it served: ${stderr}`)));
  });
  expect(stdout).toBe(`${URL_}\n`); // stdout carries only the address
  return current;
}

describe('pnpm --silent icot web --port 8791 (real processes)', () => {
  it('serves /healthz (200), streams a run of the demo image to finish, refuses a 30 MB upload with 413 without reading it, and exits on SIGTERM to its group leaving no process', async () => {
    const { child, stderr, exited } = await startCommand();
    const health = await fetch(new URL('healthz', URL_));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ schemaVersion: JSON_SCHEMA_VERSION, status: 'ok', models: [{ id: 'demo' }] });

    const events = await readEvents(await postRun(URL_, { options: { maxNewTokens: 16 } }));
    expect(events.map((e) => e.event)).toContain('insertion');
    expect(events.at(-1)!.event).toBe('finish');

    // the answer comes from the headers: not one byte of the body had been sent
    const raw = await rawRequest(PORT, `POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nContent-Type: multipart/form-data; boundary=X\r\nContent-Length: ${30 * 1024 * 1024}`, { waitBeforeBody: 300, bodyBytes: 30 * 1024 * 1024 });
    expect(raw.status).toBe(413);
    expect(raw.bodyBytesWritten).toBe(0);
    expect(raw.closed).toBe(true);
    // and a real client sending it all at once gets the 413 too
    const big = await postRun(URL_, { image: new Uint8Array(30 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { message: string } }).error.message).toMatch(/over this server's limit of 16777216 bytes/);

    const processes = descendants(child.pid!);
    expect(processes.length).toBeGreaterThanOrEqual(3); // sh, node (the server), the model's child process
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    expect(await waitFor(() => [child.pid!, ...processes].every((pid) => !alive(pid)), 5000)).toBe(true);
    expect(await portOpen()).toBe(false);
    expect(stderr()).toMatch(/icot web: stopping \(Cancelled by SIGTERM\.\)/);
  }, 300_000);

  it('exits when the pnpm that started it is killed (the shell between them stays; the server watches its wrappers)', async () => {
    const { child, stderr } = await startCommand();
    // a run, so that the model's child process exists too
    expect((await readEvents(await postRun(URL_, { options: { maxNewTokens: 4 } }))).at(-1)!.event).toBe('finish');
    const processes = descendants(child.pid!);
    process.kill(child.pid!, 'SIGKILL');
    expect(await waitFor(() => processes.every((pid) => !alive(pid)), 10_000)).toBe(true);
    expect(await portOpen()).toBe(false);
    expect(stderr()).toMatch(/icot web: stopping \(the (parent of )?process \d+ (that started this one )?is gone\)/);
  }, 300_000);
});

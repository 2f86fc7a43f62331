import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AbortedError, IcotError, throwIfAborted } from '@icot/core';
import { checkRunDescription, type RunDescription, type RunEvent, type RunOutcome } from './description.js';
import { PARENT_PID_ENV, type ChildMessage, type ParentMessage } from './protocol.js';
import { fromWireError } from './wire-error.js';

/** How the child process is started. */
export interface ChildRunnerOptions {
  /** Extra Node.js flags for the child, e.g. `--max-old-space-size=16384`. */
  readonly execArgv?: readonly string[];
  /** Environment of the child (default this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Receives what the child writes to its stdout and stderr (native warnings, library logs);
   * default: this process's stderr, so the parent's stdout stays clean.
   */
  readonly onOutput?: (text: string) => void;
}

/** Options of one run. */
export interface RunCallOptions {
  /** Aborting kills the child at once (even inside a native model run); the call rejects with `AbortedError`. */
  readonly signal?: AbortSignal;
  /**
   * Sees every event as it arrives. If it throws, the child is killed and the call rejects with
   * that error.
   */
  readonly onEvent?: (event: RunEvent) => void;
}

/** The child entry next to this module: `child.js` when built, `child.ts` through tsx when run from sources. */
function childEntry(): { readonly path: string; readonly execArgv: readonly string[] } {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) return { path: join(dirname(here), 'child.js'), execArgv: [] };
  let tsx: string;
  try {
    tsx = createRequire(import.meta.url).resolve('tsx');
  } catch (error) {
    throw new IcotError('internal', '@icot/runner is running from its TypeScript sources, and starting its child process from sources needs tsx, which is not installed.', {
      hint: "Run 'pnpm install' in the icot repository, or build the package ('pnpm build') and use it from dist.",
      cause: error,
    });
  }
  return { path: join(dirname(here), 'child.ts'), execArgv: ['--conditions=@icot/source', '--import', pathToFileURL(tsx).href] };
}

function abortedError(signal: AbortSignal): unknown {
  try {
    throwIfAborted(signal);
  } catch (error) {
    return error;
  }
  return new AbortedError();
}

function waitOrAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function setHeld(child: ChildProcess, held: boolean): void {
  const method = held ? 'ref' : 'unref';
  child[method]();
  for (const handle of [child.channel, child.stdout, child.stderr] as ({ ref?(): void; unref?(): void } | null | undefined)[]) handle?.[method]?.();
}

/**
 * Runs ICoT runs in one child process, one at a time (later calls wait their turn), so a loaded
 * model serves consecutive runs with an equal model description. A run can be cancelled at any
 * moment: aborting its signal kills the child with SIGKILL (onnxruntime runs cannot be
 * interrupted otherwise) and the next run starts a fresh child. The child dies with this process.
 * Between runs the child does not keep this process alive; {@link ChildRunner.close} ends it.
 */
export class ChildRunner {
  private child: ChildProcess | undefined;
  private queue: Promise<void> = Promise.resolve();
  private nextId = 0;
  private active: { readonly child: ChildProcess; stop(reason: unknown): void } | undefined;
  private closed = false;

  constructor(private readonly options: ChildRunnerOptions = {}) {}

  /** Pid of the current child process, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Run `description` in the child; resolves with its outcome, rejects with the run's error (same IcotError subclass, code and hint). */
  async run(description: RunDescription, options: RunCallOptions = {}): Promise<RunOutcome> {
    checkRunDescription(description);
    throwIfAborted(options.signal);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = this.queue;
    this.queue = previous.then(() => mine);
    try {
      await waitOrAbort(previous, options.signal);
      return await this.execute(description, options);
    } finally {
      release();
    }
  }

  /**
   * The same run as an async iterable of its events; the generator returns the outcome. Leaving
   * the loop early (break, throw) kills the run.
   */
  async *stream(description: RunDescription, options: Pick<RunCallOptions, 'signal'> = {}): AsyncGenerator<RunEvent, RunOutcome> {
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const events: RunEvent[] = [];
    let wake: (() => void) | undefined;
    let finished: { readonly outcome: RunOutcome } | { readonly error: unknown } | undefined;
    const running = this.run(description, {
      signal,
      onEvent: (event) => {
        events.push(event);
        wake?.();
      },
    }).then(
      (outcome) => void (finished = { outcome }),
      (error: unknown) => void (finished = { error }),
    );
    void running.then(() => wake?.());
    try {
      for (;;) {
        while (events.length) yield events.shift()!;
        if (finished) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if ('error' in finished) throw finished.error;
      return finished.outcome;
    } finally {
      if (!finished) {
        controller.abort(new AbortedError('The event stream was closed before the run ended.'));
        await running;
      }
    }
  }

  /** End the child: at once if a run is in progress (it rejects with AbortedError), else after it disconnects. Later runs are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.active?.child ?? this.child;
    this.active?.stop(new AbortedError('The runner was closed.'));
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.connected) child.disconnect();
    else child.kill('SIGKILL');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private spawn(): ChildProcess {
    const current = this.child;
    if (current && current.connected && current.exitCode === null && current.signalCode === null) return current;
    const entry = childEntry();
    const child = fork(entry.path, [], {
      execArgv: [...entry.execArgv, ...(this.options.execArgv ?? [])],
      env: { ...(this.options.env ?? process.env), [PARENT_PID_ENV]: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced', // image bytes travel as Uint8Array
      detached: process.platform !== 'win32', // own process group: the parent alone decides when it ends
    });
    const output = this.options.onOutput ?? ((text: string) => void process.stderr.write(text));
    child.stdout!.setEncoding('utf8').on('data', output);
    child.stderr!.setEncoding('utf8').on('data', output);
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    child.on('error', () => {}); // reported to the run through its own listener
    this.child = child;
    return child;
  }

  private execute(description: RunDescription, { signal, onEvent }: RunCallOptions): Promise<RunOutcome> {
    if (this.closed) return Promise.reject(new AbortedError('The runner was closed.'));
    throwIfAborted(signal);
    const child = this.spawn();
    const id = ++this.nextId;
    setHeld(child, true);
    return new Promise<RunOutcome>((resolve, reject) => {
      let stopping: { readonly reason: unknown } | undefined;
      let settled = false;
      const settle = (finish: () => void): void => {
        if (settled) return;
        settled = true;
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
        if (this.active?.child === child) this.active = undefined;
        if (child.exitCode === null && child.signalCode === null) setHeld(child, false);
        finish();
      };
      // Stopping kills the child; the call settles when it has exited, so nothing outlives the call.
      const stop = (reason: unknown): void => {
        stopping ??= { reason };
        if (this.child === child) this.child = undefined;
        child.kill('SIGKILL');
      };
      const onMessage = (message: ChildMessage): void => {
        if (message.id !== id || stopping) return;
        if (message.type === 'event') {
          try {
            onEvent?.(message.event);
          } catch (error) {
            stop(error);
          }
        } else if (message.type === 'done') settle(() => resolve(message.outcome));
        else settle(() => reject(fromWireError(message.error)));
      };
      const onExit = (code: number | null, exitSignal: NodeJS.Signals | null): void =>
        settle(() =>
          reject(
            stopping
              ? stopping.reason
              : new IcotError('internal', `The run's child process ended unexpectedly (${exitSignal ? `signal ${exitSignal}` : `exit code ${code}`}).`, {
                  hint: 'Its output above may say why (e.g. out of memory); rerun with --debug or report it.',
                }),
          ),
        );
      const onError = (error: Error): void => {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) stop(error);
        else settle(() => reject(stopping ? stopping.reason : error));
      };
      const onAbort = (): void => stop(abortedError(signal!));
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.on('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.active = { child, stop };
      const message: ParentMessage = { type: 'run', id, description };
      child.send(message, (error) => {
        if (error) onError(error);
      });
    });
  }
}

/** A {@link ChildRunner}: one child process for consecutive runs (a server's worker). */
export function createChildRunner(options: ChildRunnerOptions = {}): ChildRunner {
  return new ChildRunner(options);
}

/** Run one whole ICoT run in a fresh child process and end it afterwards (the CLI's way). */
export async function runInChildProcess(description: RunDescription, options: RunCallOptions & ChildRunnerOptions = {}): Promise<RunOutcome> {
  const runner = new ChildRunner(options);
  try {
    return await runner.run(description, options);
  } finally {
    await runner.close();
  }
}

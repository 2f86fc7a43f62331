import { basename } from 'node:path';
import { AbortedError, throwIfAborted } from '@icot/core';
import { demoModel } from '@icot/demo-model';
import { createChildRunner, type ChildRunner, type ChildRunnerOptions, type ModelDescription } from '@icot/runner';
import type { ServedModelSettings } from './options.js';

/** A model the server runs, as `GET /api/config` lists it. */
export interface ServedModelInfo {
  /** What runs name it by (`options.model`): `demo`, a folder's name, or the hub id. */
  readonly id: string;
  /** The embedded random-weight demo model (its runs get the demo's signal tokens by default). */
  readonly demo: boolean;
  /** One line for people. */
  readonly label: string;
}

/** The queue of one model was full: the request is refused with 503 and this Retry-After. */
export class ModelBusy {
  constructor(
    readonly model: string,
    readonly waiting: number,
    /** Seconds after which a retry may find room. */
    readonly retryAfterSeconds: number,
  ) {}
}

/** A held place in a model's queue: wait for the model, then release it. */
export interface Reservation {
  /**
   * Resolves when the model is free for this run (`onQueued` sees this run's place while it
   * waits); rejects with AbortedError when `signal` aborts first, which also gives the place up.
   */
  acquire(signal: AbortSignal, onQueued: (position: number) => void): Promise<void>;
  /** Give the place (or the model) back; safe to call more than once. */
  release(): void;
}

/**
 * One served model: its child process (`ChildRunner`, which keeps the loaded model between runs)
 * and a first-come queue in front of it, so one run at a time reaches the child and at most
 * `queue` wait.
 */
export class ServedModel implements ServedModelInfo {
  readonly runner: ChildRunner;
  private running = false;
  private readonly waiting: { readonly wake: () => void }[] = [];
  private reserved = 0;
  /** Mean run time so far (ms), for Retry-After. */
  private meanRunMs = 5000;
  private runs = 0;

  constructor(
    readonly id: string,
    readonly label: string,
    readonly demo: boolean,
    /** How the child loads it: the same description for every run, so the loaded model is reused. */
    readonly description: ModelDescription,
    private readonly queue: number,
    runnerOptions: ChildRunnerOptions,
  ) {
    this.runner = createChildRunner(runnerOptions);
  }

  /** Runs holding or waiting for the model. */
  get load(): { readonly running: boolean; readonly waiting: number } {
    return { running: this.running, waiting: Math.max(0, this.reserved - (this.running ? 1 : 0)) };
  }

  /** Record how long a run took (for Retry-After estimates). */
  recordRun(ms: number): void {
    this.runs += 1;
    this.meanRunMs += (ms - this.meanRunMs) / Math.min(this.runs, 10);
  }

  /** Hold a place for a run, or report that the queue is full (nothing is held then). */
  reserve(): Reservation | ModelBusy {
    if (this.reserved >= 1 + this.queue) {
      const waiting = this.reserved - 1;
      return new ModelBusy(this.id, waiting, Math.min(3600, Math.max(1, Math.ceil((this.meanRunMs * (waiting + 1)) / 1000))));
    }
    this.reserved += 1;
    let state: 'reserved' | 'waiting' | 'running' | 'released' = 'reserved';
    let entry: { readonly wake: () => void } | undefined;
    const release = (): void => {
      if (state === 'released') return;
      const wasRunning = state === 'running';
      if (state === 'waiting' && entry) this.waiting.splice(this.waiting.indexOf(entry), 1);
      state = 'released';
      this.reserved -= 1;
      if (wasRunning) {
        this.running = false;
        this.waiting.shift()?.wake();
      }
    };
    const acquire = (signal: AbortSignal, onQueued: (position: number) => void): Promise<void> => {
      throwIfAborted(signal);
      if (state !== 'reserved') return Promise.reject(new Error('A reservation is acquired once.'));
      if (!this.running) {
        this.running = true;
        state = 'running';
        return Promise.resolve();
      }
      state = 'waiting';
      return new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          release();
          try {
            throwIfAborted(signal);
          } catch (error) {
            reject(error);
            return;
          }
          reject(new AbortedError());
        };
        entry = {
          wake: () => {
            signal.removeEventListener('abort', onAbort);
            this.running = true;
            state = 'running';
            resolve();
          },
        };
        this.waiting.push(entry);
        signal.addEventListener('abort', onAbort, { once: true });
        onQueued(this.waiting.length);
      });
    };
    return { acquire, release };
  }
}

/** Names for the configured models: `demo`, each folder's name (made unique), each hub id as it is. */
export function servedModels(sources: readonly string[], settings: ServedModelSettings, queue: number, runnerOptions: ChildRunnerOptions): ServedModel[] {
  const list = sources.length ? sources : [demoModel.dir];
  const taken = new Set<string>();
  return list.map((source) => {
    const demo = source === demoModel.dir;
    const isFolder = source.startsWith('/') || /^[A-Za-z]:[\\/]/.test(source);
    let id = demo ? 'demo' : isFolder ? basename(source) || 'model' : source;
    for (let n = 2; taken.has(id); n++) id = `${demo ? 'demo' : isFolder ? basename(source) : source}-${n}`;
    taken.add(id);
    const label = demo ? 'demo: a tiny Qwen2-VL with random weights (gibberish text; shows the ICoT mechanics)' : isFolder ? `${id} (local folder)` : `${id} (hub)`;
    return new ServedModel(id, label, demo, { source, ...settings }, queue, runnerOptions);
  });
}

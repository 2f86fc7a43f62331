/**
 * The page side of `@icot/backend-web`: {@link createWebRunner} drives ICoT runs in a Web Worker
 * that calls `serveWebRuns` (`@icot/backend-web/worker`). It loads no model and no onnxruntime
 * itself, so the page stays light and responsive.
 * @module
 */
import { AbortedError, IcotError, throwIfAborted } from '@icot/core';
import { fromWireError, type PageMessage, type WebRunDescription, type WebRunEvent, type WebRunOutcome, type WorkerMessage } from './protocol.js';

export type {
  PageMessage,
  WorkerMessage,
  WebEncodedImageInfo,
  WebLoadedModelInfo,
  WebModelDescription,
  WebRunDescription,
  WebRunEvent,
  WebRunnerEvent,
  WebRunOutcome,
} from './protocol.js';

/** What the runner needs of a worker (a `Worker`, or anything that talks like one). */
export interface WorkerLike {
  postMessage(message: PageMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { readonly data: WorkerMessage }) => void): void;
  addEventListener(type: 'error', listener: (event: { readonly message?: string }) => void): void;
  terminate(): void;
}

/** Options of {@link createWebRunner}. */
export interface WebRunnerOptions {
  /**
   * Makes the worker, e.g. `() => new Worker(new URL('./icot.worker.js', import.meta.url), { type: 'module' })`.
   * Called for the first run, and again after a run had to be stopped by terminating its worker.
   */
  readonly createWorker: () => WorkerLike;
  /**
   * How long an aborted run may take to stop at its next step before its worker is terminated
   * (ms, default 1000). onnxruntime cannot interrupt a call under way (a long prefill); terminating
   * the worker stops it at once, and the next run starts a new worker (and loads the model again,
   * from the Cache API).
   */
  readonly abortGraceMs?: number;
}

/** Options of one {@link WebRunner.run}. */
export interface WebRunCallOptions {
  /** Sees every event of the run, in order. */
  readonly onEvent?: (event: WebRunEvent) => void;
  /** Cancels the run (queued or under way): it rejects with AbortedError. */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly id: number;
  readonly description: WebRunDescription;
  readonly options: WebRunCallOptions;
  readonly resolve: (outcome: WebRunOutcome) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Runs ICoT in a Web Worker, one run at a time (later runs wait in order). A run can be cancelled
 * at any moment: its worker is asked to stop at the next step and terminated if it has not
 * stopped within `abortGraceMs`.
 */
export class WebRunner {
  private worker: WorkerLike | undefined;
  private nextId = 1;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(private readonly options: WebRunnerOptions) {}

  /** Run `description` in the worker; resolves with its outcome, rejects with the run's typed error. */
  run(description: WebRunDescription, options: WebRunCallOptions = {}): Promise<WebRunOutcome> {
    if (this.disposed) return Promise.reject(new IcotError('internal', 'This WebRunner was disposed.'));
    try {
      throwIfAborted(options.signal);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise<WebRunOutcome>((resolve, reject) => {
      const pending: Pending = { id: this.nextId++, description, options, resolve, reject };
      options.signal?.addEventListener('abort', () => this.abort(pending), { once: true });
      this.queue.push(pending);
      this.startNext();
    });
  }

  /** Stop the worker (any run under way rejects with AbortedError); the runner cannot be used afterwards. */
  dispose(): void {
    this.disposed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new AbortedError('The runner was disposed.'));
    if (this.current) this.finish(this.current, undefined, new AbortedError('The runner was disposed.'));
    this.stopWorker();
  }

  private ensureWorker(): WorkerLike {
    if (this.worker) return this.worker;
    const worker = this.options.createWorker();
    worker.addEventListener('message', ({ data }) => this.onMessage(worker, data));
    worker.addEventListener('error', (event) => {
      if (this.worker !== worker || !this.current) return;
      this.finish(this.current, undefined, new IcotError('internal', `The model worker failed: ${event.message ?? 'unknown error'}`));
      this.stopWorker();
      this.startNext();
    });
    this.worker = worker;
    return worker;
  }

  private stopWorker(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }

  private startNext(): void {
    if (this.current || this.disposed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next;
    this.ensureWorker().postMessage({ type: 'run', id: next.id, description: next.description });
  }

  private onMessage(worker: WorkerLike, message: WorkerMessage): void {
    const current = this.current;
    if (worker !== this.worker || !current || message.type === 'released' || message.id !== current.id) return;
    if (message.type === 'event') {
      try {
        current.options.onEvent?.(message.event);
      } catch (error) {
        // a throwing listener ends its run, as in streamICoT
        worker.postMessage({ type: 'abort', id: current.id });
        this.finish(current, undefined, error as Error);
      }
      return;
    }
    if (message.type === 'done') this.finish(current, message.outcome);
    else this.finish(current, undefined, fromWireError(message.error));
  }

  private finish(pending: Pending, outcome: WebRunOutcome | undefined, error?: Error): void {
    if (this.current !== pending) return;
    this.current = undefined;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (error) pending.reject(error);
    else pending.resolve(outcome!);
    this.startNext();
  }

  private abort(pending: Pending): void {
    const index = this.queue.indexOf(pending);
    if (index >= 0) {
      this.queue.splice(index, 1);
      pending.reject(new AbortedError());
      return;
    }
    if (this.current !== pending || !this.worker) return;
    this.worker.postMessage({ type: 'abort', id: pending.id });
    // a long onnxruntime call cannot be interrupted: terminate the worker if the run does not stop in time
    this.graceTimer = setTimeout(() => {
      if (this.current !== pending) return;
      this.stopWorker();
      this.finish(pending, undefined, new AbortedError('The run was cancelled (its worker was stopped in the middle of a model call).'));
    }, this.options.abortGraceMs ?? 1000);
  }
}

/** A {@link WebRunner} over workers made by `options.createWorker`. */
export function createWebRunner(options: WebRunnerOptions): WebRunner {
  return new WebRunner(options);
}

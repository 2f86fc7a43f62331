import type { RunDescription, RunEvent, RunOutcome } from './description.js';
import type { WireError } from './wire-error.js';

/** Messages from the parent to the run child. */
export type ParentMessage = { readonly type: 'run'; readonly id: number; readonly description: RunDescription };

/** Messages from the run child to the parent. */
export type ChildMessage =
  | { readonly type: 'event'; readonly id: number; readonly event: RunEvent }
  | { readonly type: 'done'; readonly id: number; readonly outcome: RunOutcome }
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError };

/** Environment variable that tells the child its parent's pid (for the parent-death watchdog). */
export const PARENT_PID_ENV = 'ICOT_RUNNER_PARENT_PID';

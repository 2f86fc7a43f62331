/**
 * Entry of the run child process, started by `ChildRunner` with `child_process.fork`. It takes
 * `run` messages one at a time, executes each with {@link executeRun} (keeping the loaded model
 * for the next run with an equal model description) and sends back events, then the outcome or
 * the error. It exits when the parent disconnects, and a watchdog thread kills it within ~100 ms
 * when the parent dies, even while the main thread is blocked inside an onnxruntime run.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { executeRun, ModelCache } from './in-process.js';
import { PARENT_PID_ENV, type ChildMessage, type ParentMessage } from './protocol.js';
import { toWireError } from './wire-error.js';

if (!process.send) {
  process.stderr.write('@icot/runner: the child entry must be started by ChildRunner (child_process.fork with IPC).\n');
  process.exit(1);
}

// The main thread blocks during model runs, so parent death is watched from another thread:
// once this process is re-parented, it kills itself (SIGKILL does not wait for the native run).
const parentPid = Number(process.env[PARENT_PID_ENV] ?? process.ppid);
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
   const check = () => { if (process.ppid !== workerData.parentPid) process.kill(process.pid, 'SIGKILL'); };
   check();
   setInterval(check, 100);`,
  { eval: true, workerData: { parentPid } },
);
watchdog.unref();

function send(message: ChildMessage): void {
  if (process.connected) process.send!(message, undefined, {}, () => {}); // a closed channel is handled by 'disconnect'
}

const models = new ModelCache();
let queue: Promise<void> = Promise.resolve();

async function run(message: ParentMessage): Promise<void> {
  const { id } = message;
  try {
    const outcome = await executeRun(message.description, { models, onEvent: (event) => send({ type: 'event', id, event }) });
    send({ type: 'done', id, outcome });
  } catch (error) {
    send({ type: 'failed', id, error: toWireError(error) });
  }
}

process.on('message', (message: ParentMessage) => {
  if (message?.type === 'run') queue = queue.then(() => run(message));
});
process.on('disconnect', () => process.exit(0));

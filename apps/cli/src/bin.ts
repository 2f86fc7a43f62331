#!/usr/bin/env node
import { AbortedError } from '@icot/core';
import { main } from './main.js';
import { OutputClosedError } from './run.js';

// Models run in a child process (@icot/runner), so this process stays responsive: the first
// SIGINT (Ctrl-C) or SIGTERM kills the run at once, even mid-prefill, and the command exits 130.
const controller = new AbortController();
const cancel = (signal: NodeJS.Signals): void => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort(new AbortedError(signal === 'SIGINT' ? 'Cancelled by the user (Ctrl-C).' : `Cancelled by ${signal}.`));
};
process.on('SIGINT', cancel);
process.on('SIGTERM', cancel);

// Whoever reads stdout went away (`icot run | head -1`): end the run quietly (exit 0), as a
// pipeline expects, instead of an EPIPE stack trace.
let stdoutClosed = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && !stdoutClosed) throw error;
  if (stdoutClosed) return;
  stdoutClosed = true;
  controller.abort(new OutputClosedError());
});

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
  interactive: process.stderr.isTTY === true,
});
process.exitCode = stdoutClosed ? 0 : code;

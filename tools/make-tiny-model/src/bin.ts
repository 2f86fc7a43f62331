#!/usr/bin/env node
import { AbortedError } from '@icot/core';
import { main } from './main.js';

// The icot runs happen in child processes: the first SIGINT (Ctrl-C) or SIGTERM ends them at once
// and the command exits 130; a second one exits at once.
const controller = new AbortController();
const cancel = (signal: NodeJS.Signals): void => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort(new AbortedError(signal === 'SIGINT' ? 'Cancelled by the user (Ctrl-C).' : `Cancelled by ${signal}.`));
};
process.on('SIGINT', cancel);
process.on('SIGTERM', cancel);

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });

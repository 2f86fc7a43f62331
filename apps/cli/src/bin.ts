#!/usr/bin/env node
import { AbortedError } from '@icot/core';
import { main } from './main.js';

const controller = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('\nicot: cancelling (Ctrl-C again to quit now)\n');
  controller.abort(new AbortedError('Cancelled by the user (Ctrl-C).'));
});

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
  interactive: process.stderr.isTTY === true,
});
process.exitCode = code;

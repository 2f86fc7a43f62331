#!/usr/bin/env node
// `pnpm make-tiny-model ...` typed in a package folder (see icot.mjs).
import { runBuilt } from '../../../scripts/run-built.mjs';

await runBuilt({ pkg: '@icot/make-tiny-model', script: 'tools/make-tiny-model/dist/bin.js', args: process.argv.slice(2), cwd: process.cwd() });

#!/usr/bin/env node
// `pnpm icot ...` typed in a package folder: pnpm finds no `icot` script there and runs this bin
// (linked into the workspace root's node_modules/.bin) in the folder typed in. Same as the root script.
import { runBuilt } from '../../../scripts/run-built.mjs';

await runBuilt({ pkg: '@icot/cli', script: 'apps/cli/dist/bin.js', args: process.argv.slice(2), cwd: process.cwd() });

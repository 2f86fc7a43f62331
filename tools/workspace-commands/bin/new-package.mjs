#!/usr/bin/env node
// `pnpm new-package ...` typed in a package folder (see icot.mjs); it writes into the workspace.
import { runBuilt } from '../../../scripts/run-built.mjs';

await runBuilt({ pkg: '@icot/new-package', script: 'tools/new-package/dist/bin.js', args: process.argv.slice(2) });

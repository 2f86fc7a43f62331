#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { main } from './main.js';

// dist/bin.js -> the repository root, where packages/ is
const root = fileURLToPath(new URL('../../../', import.meta.url));
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, root);

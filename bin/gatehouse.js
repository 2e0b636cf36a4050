#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs through `prepare`).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'server', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`gatehouse: ${entry} is missing; run \`npm run build\` (npm ci runs it) first\n`);
  process.exit(2);
}
require(entry);

#!/usr/bin/env node
'use strict';
// The CLI is TypeScript run through tsx, so `npx gatehouse …` needs no build step.
require('tsx/cjs');
require('../server/main.ts');

#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI through tsx's require hook (no build step in this repository).
require('tsx/cjs');
require('../src/cli.ts').main();

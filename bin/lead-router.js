#!/usr/bin/env node
// Built by `npm run build` (runs on npm install through "prepare").
import { runCli } from '../dist/cli.js';
runCli();

#!/usr/bin/env node
// Launcher: the CLI lives in packages/cli (oclif reads its package.json for the command list).
import '../packages/cli/bin/run.js';

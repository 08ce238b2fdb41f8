#!/usr/bin/env node
// Entry point of the `calico-diag` command: runs the compiled CLI (npm run build).
import '../dist/cli/main.js';

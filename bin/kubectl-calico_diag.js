#!/usr/bin/env node
// Entry point of the kubectl plugin: kubectl runs `kubectl-calico_diag` for `kubectl calico-diag ...`.
// It runs the compiled CLI (npm run build) and reaches the aggregator through the API server.
// CommonJS like every file in bin/ (bin/package.json); the plugin itself is an ES module.
'use strict';

void import('../dist/cli/kubectl.js');

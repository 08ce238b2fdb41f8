#!/usr/bin/env node
// Entry point of the kubectl plugin: kubectl runs `kubectl-calico_diag` for `kubectl calico-diag ...`.
// It runs the compiled CLI (npm run build) and reaches the aggregator through the API server.
import '../dist/cli/kubectl.js';

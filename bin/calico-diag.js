#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `calico-diag` command: runs the built CLI (npm run build), the CommonJS bundle
// dist/cli/calico-diag.cjs (cli/main.ts with commander and the aggregator-reading commands in one
// file, scripts/bundle-cli.ts), which imports the other commands' compiled modules from dist/.
// This file is CommonJS too (bin/package.json): an ES module entry costs ~10 ms more CPU to start
// (#17, bench/results.md).
// The small young generation (--max-semi-space-size=2, also in the images' ENTRYPOINT) keeps the
// peak RSS down while the agent parses a node's large iptables-save output, at no cost in speed
// for this workload (bench/results.md: 100k rules, 170 → ~137 MiB).
// Node's compile cache (in the OS temp directory; nothing happens where it cannot be written) lets
// later runs skip compiling the CLI's code: part of the cold start (#17, bench/results.md).
'use strict';

require('node:module').enableCompileCache?.();
require('../dist/cli/calico-diag.cjs');

#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `calico-diag` command: runs the built CLI (npm run build), the CommonJS bundle
// dist/cli/calico-diag.cjs (cli/main.ts with commander and the aggregator-reading commands in one
// file, scripts/bundle-cli.ts), which imports the other commands' compiled modules from dist/.
// `calico-diag findings` with plain arguments is run by the smaller bundle
// dist/cli/calico-diag-findings.cjs (cli/plain-findings.ts) without loading that one (#17).
// This file is CommonJS too (bin/package.json): an ES module entry costs ~10 ms more CPU to start
// (#17, bench/results.md).
// The small young generation (--max-semi-space-size=2) keeps the peak RSS of a one-shot command down
// while it parses a node's large iptables-save output (bench/results.md: 100k rules, 170 → ~137 MiB).
// The agent image runs the daemon with 8 instead (Dockerfile.agent: less CPU per read in a long-lived
// process, bench/results-agent.md); started as `node … bin/calico-diag.js`, this line is not read.
// Node's compile cache lets later runs skip compiling the CLI's code: part of the cold start (#17,
// bench/results.md). Its default directory, os.tmpdir()/node-compile-cache, is shared by every user
// of the machine: the first one to run Node with a compile cache creates it (mode 0755), and every
// other user's cache is then silently off (Node cannot create their directory in it). So it is the
// user's own cache directory ($XDG_CACHE_HOME or ~/.cache, calico-diag/compile-cache) first, and the
// default where that cannot be written (a pod's read-only home: its /tmp is writable), unless
// NODE_COMPILE_CACHE names one. Nothing happens where neither can be written.
'use strict';

const { constants, enableCompileCache } = require('node:module');

const cacheHome = process.env.XDG_CACHE_HOME || (process.env.HOME ? `${process.env.HOME}/.cache` : undefined);
if (process.env.NODE_COMPILE_CACHE || !cacheHome || enableCompileCache(`${cacheHome}/calico-diag/compile-cache`).status === constants.compileCacheStatus.FAILED) {
  enableCompileCache();
}
if (process.argv[2] !== 'findings' || !require('../dist/cli/calico-diag-findings.cjs').runPlainFindings(process.argv.slice(3))) {
  require('../dist/cli/calico-diag.cjs');
}

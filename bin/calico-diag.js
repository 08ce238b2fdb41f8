#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `calico-diag` command: runs the compiled CLI (npm run build).
// The small young generation (--max-semi-space-size=2, also in the images' ENTRYPOINT) keeps the
// peak RSS down while the agent parses a node's large iptables-save output, at no cost in speed
// for this workload (bench/results.md: 100k rules, 170 → ~137 MiB).
// Node's compile cache (in the OS temp directory; nothing happens where it cannot be written) lets
// later runs skip compiling the CLI's modules: part of the cold start (#17, bench/results.md).
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
await import('../dist/cli/main.js');

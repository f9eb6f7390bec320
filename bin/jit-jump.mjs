#!/usr/bin/env node
// The `jit-jump` command (package.json "bin"): runs the compiled entry, dist/main.js, in this process, so that
// signals reach the broker or the sandbox directly (no wrapper process in between). `npm ci` builds dist/
// (scripts/build.mjs, npm's `prepare`). A dist/ older than src/ (src edited, not rebuilt) is never run: it is
// rebuilt first (under a second); if that fails (a read-only checkout), src/ runs through tsx, which compiles
// each module at load and costs ≈ 50 MB more. Either way one line on standard error says which.
import { build, staleness } from '../scripts/build.mjs';

const stale = staleness();
let entry = '../dist/main.js';
if (stale) {
  try {
    const ms = await build({ quiet: true });
    console.error(`jit-jump: ${stale}: rebuilt dist/ from src/ (${ms} ms)`);
  } catch (err) {
    console.error(`jit-jump: ${stale} and rebuilding it failed (${err instanceof Error ? err.message : err}): running src/ through tsx`);
    const { register } = await import('tsx/esm/api');
    register();
    entry = '../src/main.ts';
  }
}
await import(entry);

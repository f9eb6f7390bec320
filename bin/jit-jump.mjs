#!/usr/bin/env node
// The `jit-jump` command (package.json "bin"): runs the TypeScript entry in this process through tsx, a dependency,
// so that `npx jit-jump …` works from a checkout after `npm ci` with no build step, and signals reach the broker or
// the sandbox directly (no wrapper process in between).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');

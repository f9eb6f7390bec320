// Runs one test file in a process group of its own, with a deadline: a file that hangs is killed together with
// every server it started (redis-server and sshd run in its group), so `npm test` reports it and goes on.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseDuration } from '../src/domain/duration.ts';

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/** how long the group gets after SIGTERM (redis-server saves, sshd closes) before SIGKILL */
const GRACE_MS = 5_000;

export interface FileResult {
  file: string;
  outcome: 'passed' | 'failed' | 'timed out';
  ms: number;
  timeoutMs: number;
  /** exit code, or the signal that ended the file's process */
  exit: string;
  /** processes of the file's group that outlived it (stopped by the runner) */
  leftovers: boolean;
}

/**
 * A slow file declares its own deadline in a comment near its top, e.g. `// test-timeout: 10m`.
 * Anything else there is refused so that a typo does not silently fall back to the default.
 */
export function declaredTimeoutMs(file: string, fallbackMs: number): number {
  const head = readFileSync(file, 'utf8').slice(0, 4000);
  const m = /^\/\/ test-timeout: *(\S*)/m.exec(head);
  if (!m) return fallbackMs;
  const ms = parseDuration(m[1]!);
  if (ms === undefined) throw new Error(`${file}: "// test-timeout: ${m[1]}" is not a duration such as 90s or 10m`);
  return ms;
}

/** True while any process of the group is alive (signal 0 checks without sending anything). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* the group is empty */
  }
}

/** True if the group emptied within `ms`. */
async function groupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return !groupAlive(pgid);
}

/** SIGTERM to the whole group, SIGKILL to whatever is left after the grace period. */
export async function stopGroup(pgid: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  if (!(await groupGone(pgid, GRACE_MS))) signalGroup(pgid, 'SIGKILL');
}

/** The group of the file running now, so that Ctrl-C on the runner can stop it too. */
export let runningGroup: number | undefined;

export async function runTestFile(file: string, timeoutMs: number): Promise<FileResult> {
  const started = performance.now();
  // detached: the file leads a new process group, and every process it starts joins it.
  const child = spawn(process.execPath, ['--import', 'tsx', '--test-reporter=spec', file], { stdio: 'inherit', detached: true });
  const pgid = child.pid!;
  runningGroup = pgid;
  let stopping: Promise<void> | undefined;
  const timer = setTimeout(() => {
    console.error(`\n✖ ${file}: still running after ${Math.round(timeoutMs / 1000)} s (its timeout): stopping its process group`);
    stopping = stopGroup(pgid);
  }, timeoutMs);
  const exit = await new Promise<string>((resolve) => {
    child.on('error', (err) => resolve(`spawn error: ${err.message}`));
    child.on('exit', (code, signal) => resolve(signal ?? String(code)));
  });
  clearTimeout(timer);
  const timedOut = stopping !== undefined;
  await stopping;
  // Servers a finished file left running belong to no one any more. (tsx's esbuild helper leaves on its own
  // a moment after the file's process: not a leftover.)
  const leftovers = !(await groupGone(pgid, 3000));
  if (leftovers) await stopGroup(pgid);
  runningGroup = undefined;
  const ms = performance.now() - started;
  return { file, outcome: timedOut ? 'timed out' : exit === '0' ? 'passed' : 'failed', ms, timeoutMs, exit, leftovers };
}

// Runs one test file in a process group of its own, with a deadline: a file that hangs is killed together with
// every server it started (redis-server and sshd run in its group), so `npm test` reports it and goes on.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { parseDuration } from '../src/domain/duration.ts';

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const ASSERT_MESSAGES = new URL('../test/support/assert-messages.ts', import.meta.url).href;
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
  /** the file's stdout and stderr in the order they came, when captured (else it went to the terminal) */
  output: string;
}

/** What a file declares in comments near its top. */
function head(file: string): string {
  return readFileSync(file, 'utf8').slice(0, 4000);
}

/**
 * A slow file declares its own deadline in a comment near its top, e.g. `// test-timeout: 10m`.
 * Anything else there is refused so that a typo does not silently fall back to the default.
 */
export function declaredTimeoutMs(file: string, fallbackMs: number): number {
  const m = /^\/\/ test-timeout: *(\S*)/m.exec(head(file));
  if (!m) return fallbackMs;
  const ms = parseDuration(m[1]!);
  if (ms === undefined) throw new Error(`${file}: "// test-timeout: ${m[1]}" is not a duration such as 90s or 10m`);
  return ms;
}

/** A file that must not run beside another (it uses something machine-wide) says `// test-exclusive` near its top. */
export function declaredExclusive(file: string): boolean {
  return /^\/\/ test-exclusive\b/m.test(head(file));
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

/** The groups of the files running now, so that Ctrl-C on the runner can stop them too. */
export const runningGroups = new Set<number>();

/** Resolves when the stream has ended, or after `ms` (a process outside the group may still hold the pipe). */
function ended(stream: Readable | null, ms: number): Promise<void> {
  if (!stream || stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * With `capture`, the file's output is kept (stdout and stderr together, in order) and returned, so that files
 * running at the same time can each be printed as one block; without it, it goes straight to the terminal.
 */
export async function runTestFile(file: string, timeoutMs: number, opts: { capture?: boolean } = {}): Promise<FileResult> {
  const started = performance.now();
  const capture = opts.capture ?? false;
  // The spec reporter colours only a terminal: keep its colours when the runner's output is one. When the runner
  // itself runs under `node --test` (its own test), NODE_TEST_CONTEXT would make the file report in Node's binary
  // protocol instead of the spec reporter's lines.
  const env: NodeJS.ProcessEnv = { ...process.env, ...(capture && process.stdout.isTTY && !('NO_COLOR' in process.env) ? { FORCE_COLOR: '1' } : {}) };
  delete env.NODE_TEST_CONTEXT;
  // detached: the file leads a new process group, and every process it starts joins it.
  // assert-messages: a failing assert.ok without a message fails at once instead of parsing TypeScript for minutes.
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', ASSERT_MESSAGES, '--test-reporter=spec', file], {
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    detached: true,
    env,
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const say = (line: string) => (capture ? (output += `${line}\n`) : console.error(line));
  const pgid = child.pid!;
  if (pgid !== undefined) runningGroups.add(pgid);
  let stopping: Promise<void> | undefined;
  const timer = setTimeout(() => {
    say(`\n✖ ${file}: still running after ${Math.round(timeoutMs / 1000)} s (its timeout): stopping its process group`);
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
  const leftovers = pgid !== undefined && !(await groupGone(pgid, 3000));
  if (leftovers) await stopGroup(pgid);
  runningGroups.delete(pgid);
  await Promise.all([ended(child.stdout, 2000), ended(child.stderr, 2000)]);
  const ms = performance.now() - started;
  return { file, outcome: timedOut ? 'timed out' : exit === '0' ? 'passed' : 'failed', ms, timeoutMs, exit, leftovers, output };
}

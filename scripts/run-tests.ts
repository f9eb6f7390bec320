// `npm test [part of a path…]`: make sure redis-server and OpenSSH (and Chromium, for *.browser.test.ts; journald
// and rsyslogd, as root on Linux) are there, then run every test/**/*.test.ts with Node's test runner, two files
// at a time (JIT_TEST_JOBS sets how many; 1 runs them one after another with their output live). Each file runs
// in a process group of its own with a deadline (5 min, or `// test-timeout: 10m` near the top of a slow file;
// JIT_TEST_TIMEOUT sets the default): a file that hangs is reported by name, stopped with every server it started,
// and the run goes on. With more than one job each file's output is kept and printed as one block when it ends;
// the slow files start first, and a file marked `// test-exclusive` runs alone. A summary (in name order) ends the
// run; the exit code is non-zero if any file failed or timed out.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../src/domain/duration.ts';
import { ensureSystemPackages, type SystemNeed } from '../src/system/ensure-system-packages.ts';
import { DEFAULT_TIMEOUT_MS, declaredExclusive, declaredTimeoutMs, runTestFile, runningGroups, stopGroup, type FileResult } from './run-test-file.ts';
import { runAll } from './test-schedule.ts';

/** Test files under `dir`; `support` folders hold fixtures and helpers, never tests of their own. */
function find(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'support' ? [] : find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

function fail(message: string): never {
  console.error(`npm test: ${message}`);
  process.exit(1);
}

// JIT_TEST_DIR exists for the runner's own test, which points it at fixtures (test/support/runner-fixtures).
const root = process.env.JIT_TEST_DIR || 'test';
const filter = process.argv.slice(2);
const files = find(root)
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) fail('no test files matched');
const defaultTimeoutMs = process.env.JIT_TEST_TIMEOUT ? parseDuration(process.env.JIT_TEST_TIMEOUT) : DEFAULT_TIMEOUT_MS;
if (defaultTimeoutMs === undefined) fail(`JIT_TEST_TIMEOUT=${process.env.JIT_TEST_TIMEOUT} is not a duration such as 90s or 10m`);
const jobs = Number(process.env.JIT_TEST_JOBS || 2);
if (!Number.isInteger(jobs) || jobs < 1) fail(`JIT_TEST_JOBS=${process.env.JIT_TEST_JOBS} is not a whole number of files to run at once (1 or more)`);
let timeouts: number[];
try {
  timeouts = files.map((f) => declaredTimeoutMs(f, defaultTimeoutMs));
} catch (err) {
  fail((err as Error).message);
}

// The browser tests drive the sandbox's console in the system's Chromium (playwright-core downloads nothing).
// The jump server's log daemons (and the C compiler of the shim that reorders its lines) are used only by tests
// running as root on Linux (the others skip them).
const needs: SystemNeed[] = [
  'redis',
  'sshd',
  ...(files.some((f) => f.endsWith('.browser.test.ts')) ? (['chromium'] as const) : []),
  ...(process.platform === 'linux' && process.getuid?.() === 0 ? (['journald', 'rsyslog', 'cc'] as const) : []),
];
try {
  await ensureSystemPackages(needs, (line) => console.log(line));
} catch (err) {
  fail((err as Error).message);
}

// The files run in groups of their own, which a Ctrl-C in the terminal does not reach: pass it on.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    const groups = [...runningGroups];
    console.error(`\nnpm test: ${signal}: stopping the running test file${groups.length === 1 ? '' : 's'}`);
    void Promise.all(groups.map(stopGroup)).then(() => process.exit(130));
  });
}

const started = performance.now();
const results: FileResult[] = [];
if (jobs === 1) {
  // One at a time, in name order, the output going straight to the terminal.
  for (const [i, file] of files.entries()) {
    console.log(`\n▶ ${file} (${i + 1}/${files.length})`);
    results.push(await runTestFile(file, timeouts[i]!));
  }
} else {
  const tasks = files.map((file, i) => ({ file, index: i, timeoutMs: timeouts[i]!, exclusive: declaredExclusive(file) }));
  let done = 0;
  const byIndex = await runAll(tasks, jobs, defaultTimeoutMs, {
    start: (t) => console.log(`… ${t.file} started`),
    run: (t) => runTestFile(t.file, t.timeoutMs, { capture: true }),
    end: (t, r) => {
      done++;
      console.log(`\n▶ ${t.file} (${done}/${files.length})`);
      process.stdout.write(r.output.endsWith('\n') || r.output === '' ? r.output : `${r.output}\n`);
    },
  });
  results.push(...byIndex);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
console.log('\nnpm test: summary');
for (const r of results) {
  const mark = r.outcome === 'passed' ? '✔' : '✖';
  const why = r.outcome === 'timed out' ? ` TIMED OUT after ${seconds(r.timeoutMs)} (process group stopped)` : r.outcome === 'failed' ? ` FAILED (exit ${r.exit})` : '';
  const left = r.leftovers ? ' (left processes running in its group: stopped them)' : '';
  console.log(`  ${mark} ${r.file}  ${seconds(r.ms)}${why}${left}`);
}
const failed = results.filter((r) => r.outcome === 'failed').length;
const timedOut = results.filter((r) => r.outcome === 'timed out').length;
console.log(`${results.length} file${results.length === 1 ? '' : 's'}: ${results.length - failed - timedOut} passed, ${failed} failed, ${timedOut} timed out; ${seconds(performance.now() - started)} in all`);
process.exit(failed + timedOut > 0 ? 1 : 0);

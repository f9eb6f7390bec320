// `npm test`'s runner (scripts/run-tests.ts) on fixture files: a file that hangs is stopped at its deadline
// together with the servers it started and named in the summary; the run goes on and ends non-zero. Files run two
// at a time (JIT_TEST_JOBS), each file's output printed as one block.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const FIXTURES = 'test/support/runner-fixtures';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie waiting to be reaped is dead already.
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
}

describe('npm test runner', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-run-tests-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the runner on the fixtures, as `npm test <filter…>` would; its whole output, and its exit code. */
  function runner(filter: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, JIT_TEST_DIR: FIXTURES, JIT_FIXTURE_PIDS: join(dir, 'pids.json'), ...extra };
    delete env.JIT_TEST_TIMEOUT;
    if (!('JIT_TEST_JOBS' in extra)) delete env.JIT_TEST_JOBS;
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-tests.ts', ...filter], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // A generous deadline of our own, so that a broken runner fails this test instead of hanging it.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 5 * 60_000);
    return new Promise((resolve) => {
      child.on('close', (code) => {
        clearTimeout(deadline);
        resolve({ code, out });
      });
    });
  }

  it('stops a hanging file at its deadline with the redis-server it started, names it, runs the other file beside it, exits non-zero', async () => {
    const { code, out } = await runner(['hangs', 'passes']);
    console.log(out);
    assert.equal(code, 1);
    const hangs = `${FIXTURES}/hangs.test.ts`;
    const passes = `${FIXTURES}/passes.test.ts`;
    assert.match(out, new RegExp(`✖ ${hangs}: still running after 20 s \\(its timeout\\): stopping its process group`));
    assert.match(out, /hangs\.test\.ts: ignoring SIGTERM/, 'the group got SIGTERM first');
    // Both started at once; the passing file ended (and was printed) while the other still hung.
    const blockOf = (file: string) => out.indexOf(`\n▶ ${file} (`);
    assert.ok(blockOf(passes) >= 0 && blockOf(passes) < blockOf(hangs), 'the passing file is printed first, as it ended first');
    assert.ok(out.indexOf('✔ runs after a file that hung') > blockOf(passes), 'its output is in its block');
    assert.ok(out.indexOf('still running after 20 s') > blockOf(hangs), 'the deadline is reported in the hanging file\'s block');
    // The summary is in name order.
    assert.match(out, new RegExp(`✖ ${hangs}  [\\d.]+ s TIMED OUT after 20\\.0 s \\(process group stopped\\)\\n  ✔ ${passes}  [\\d.]+ s`));
    assert.match(out, /2 files: 1 passed, 0 failed, 1 timed out; [\d.]+ s in all/);
    // The file's process ignored SIGTERM and got SIGKILL; its redis-server went with its group.
    const pids = JSON.parse(readFileSync(join(dir, 'pids.json'), 'utf8')) as { test: number; redis: number };
    assert.equal(alive(pids.test), false, 'the hanging test process is gone');
    const deadline = Date.now() + 30_000; // the runner waited for the group; give init a moment to reap it
    while (alive(pids.redis) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(pids.redis), false, 'the redis-server it started is gone');
  });

  it('runs two files at the same time and prints the output of each as one block', async () => {
    const meet = mkdtempSync(join(dir, 'meet-'));
    const { code, out } = await runner(['meets-'], { JIT_FIXTURE_MEET_DIR: meet, JIT_TEST_JOBS: '2' });
    assert.equal(code, 0, out);
    assert.match(out, /2 files: 2 passed, 0 failed, 0 timed out/);
    for (const me of ['a', 'b']) {
      // The block from its heading to the next: all 22 lines of this file, in order, and none of the other's.
      const start = out.indexOf(`\n▶ ${FIXTURES}/meets-${me}.test.ts (`);
      assert.ok(start >= 0, `meets-${me} has a block`);
      const next = out.indexOf('\n▶ ', start + 1);
      const block = out.slice(start, next === -1 ? out.indexOf('npm test: summary') : next);
      const lines = block.split('\n').filter((l) => /^meets-[ab] line/.test(l));
      assert.deepEqual(
        lines.map((l) => /^meets-(\w) line (\d+)/.exec(l)!.slice(1).join(' ')),
        Array.from({ length: 22 }, (_, i) => `${me} ${i + 1}`),
        `meets-${me}'s block:\n${block}`,
      );
    }
  });

  it('with JIT_TEST_JOBS=1 runs one file after the other (so the two fixtures never meet), and refuses a bad JIT_TEST_JOBS', async () => {
    const meet = mkdtempSync(join(dir, 'meet-'));
    const serial = await runner(['meets-'], { JIT_FIXTURE_MEET_DIR: meet, JIT_FIXTURE_MEET_MS: '1500', JIT_TEST_JOBS: '1' });
    assert.equal(serial.code, 1, serial.out);
    assert.match(serial.out, /meets-a: meets-b did not run at the same time/);
    assert.match(serial.out, /2 files: 1 passed, 1 failed, 0 timed out/, 'b found the marker a had left');
    const bad = await runner(['passes'], { JIT_TEST_JOBS: 'two' });
    assert.equal(bad.code, 1);
    assert.match(bad.out, /npm test: JIT_TEST_JOBS=two is not a whole number of files to run at once \(1 or more\)/);
  });

  it('refuses a test-timeout it cannot read, naming the file, and runs nothing', async () => {
    const { code, out } = await runner(['bad-timeout']);
    assert.equal(code, 1);
    assert.match(out, /npm test: test\/support\/runner-fixtures\/bad-timeout\.test\.ts: "\/\/ test-timeout: soon" is not a duration such as 90s or 10m/);
    assert.doesNotMatch(out, /never runs/);
  });

  it('runs only the files matching the filter, and fails when none match', async () => {
    const only = await runner(['passes']);
    assert.equal(only.code, 0, only.out);
    assert.match(only.out, /1 file: 1 passed, 0 failed, 0 timed out/);
    assert.doesNotMatch(only.out, /hangs\.test\.ts|bad-timeout/);
    const none = await runner(['no-such-test']);
    assert.equal(none.code, 1);
    assert.match(none.out, /npm test: no test files matched/);
  });
});

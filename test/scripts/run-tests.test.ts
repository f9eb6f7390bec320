// `npm test`'s runner (scripts/run-tests.ts) on fixture files: a file that hangs is stopped at its deadline
// together with the servers it started and named in the summary; the run goes on and ends non-zero.
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
  function runner(filter: string[]): Promise<{ code: number | null; out: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, JIT_TEST_DIR: FIXTURES, JIT_FIXTURE_PIDS: join(dir, 'pids.json') };
    delete env.JIT_TEST_TIMEOUT;
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

  it('stops a hanging file at its deadline with the redis-server it started, names it, runs the next file, exits non-zero', async () => {
    const { code, out } = await runner(['hangs', 'passes']);
    console.log(out);
    assert.equal(code, 1);
    const hangs = `${FIXTURES}/hangs.test.ts`;
    assert.match(out, new RegExp(`✖ ${hangs}: still running after 20 s \\(its timeout\\): stopping its process group`));
    assert.match(out, /hangs\.test\.ts: ignoring SIGTERM/, 'the group got SIGTERM first');
    assert.match(out, new RegExp(`✖ ${hangs}  [\\d.]+ s TIMED OUT after 20\\.0 s \\(process group stopped\\)`));
    assert.match(out, new RegExp(`✔ ${FIXTURES}/passes\\.test\\.ts  [\\d.]+ s`));
    assert.ok(out.indexOf('✔ runs after a file that hung') > out.indexOf('still running after 20 s'), 'the next file ran after the hang was stopped');
    assert.match(out, /2 files: 1 passed, 0 failed, 1 timed out; [\d.]+ s in all/);
    // The file's process ignored SIGTERM and got SIGKILL; its redis-server went with its group.
    const pids = JSON.parse(readFileSync(join(dir, 'pids.json'), 'utf8')) as { test: number; redis: number };
    assert.equal(alive(pids.test), false, 'the hanging test process is gone');
    const deadline = Date.now() + 30_000; // the runner waited for the group; give init a moment to reap it
    while (alive(pids.redis) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(pids.redis), false, 'the redis-server it started is gone');
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

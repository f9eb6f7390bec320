// How `npm test` schedules files when it runs several at once (scripts/test-schedule.ts): never more than the
// jobs asked for, a `// test-exclusive` file alone, the slow files first, results in name order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAll, startOrder, type Task } from '../../scripts/test-schedule.ts';

const MIN = 60_000;
const task = (file: string, index: number, o: Partial<Task> = {}): Task => ({ file, index, timeoutMs: 5 * MIN, exclusive: false, ...o });

/** Runs the tasks with `runAll`, each ending when the test says so; records what ran beside what. */
function harness(tasks: Task[], jobs: number) {
  const running = new Set<string>();
  const seen: { started: string; beside: string[] }[] = [];
  const finishers = new Map<string, () => void>();
  const ended: string[] = [];
  const done = runAll(tasks, jobs, 5 * MIN, {
    start: (t) => {
      seen.push({ started: t.file, beside: [...running] });
      running.add(t.file);
    },
    run: (t) => new Promise<string>((resolve) => finishers.set(t.file, () => resolve(`result of ${t.file}`))),
    end: (t, r) => {
      running.delete(t.file);
      ended.push(`${t.file}: ${r}`);
    },
  });
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    seen,
    ended,
    running,
    done,
    async finish(file: string) {
      const f = finishers.get(file);
      assert.ok(f, `${file} is running`);
      f();
      await tick();
      await tick();
    },
  };
}

describe('npm test schedule', () => {
  it('starts slow files first: a longer test-timeout, then the known-slow ones, then name order', () => {
    const tasks = [task('test/a.test.ts', 0), task('test/e2e/x.test.ts', 1), task('test/b.test.ts', 2, { timeoutMs: 10 * MIN }), task('test/c.test.ts', 3), task('test/sandbox/console.browser.test.ts', 4)];
    assert.deepEqual(
      startOrder(tasks, 5 * MIN).map((t) => t.file),
      ['test/b.test.ts', 'test/e2e/x.test.ts', 'test/sandbox/console.browser.test.ts', 'test/a.test.ts', 'test/c.test.ts'],
    );
  });

  it('runs up to `jobs` files at once, starts the next as one ends, and returns the results in name order', async () => {
    const h = harness([task('a', 0), task('b', 1), task('c', 2)], 2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([...h.running], ['a', 'b']);
    await h.finish('b');
    assert.deepEqual([...h.running], ['a', 'c']);
    await h.finish('a');
    await h.finish('c');
    assert.deepEqual(await h.done, ['result of a', 'result of b', 'result of c']);
    assert.deepEqual(h.ended, ['b: result of b', 'a: result of a', 'c: result of c']);
  });

  it('runs a test-exclusive file alone: it waits for the running ones, and nothing starts beside it', async () => {
    const h = harness([task('a', 0), task('b', 1, { exclusive: true }), task('c', 2), task('d', 3)], 2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([...h.running], ['b'], 'exclusive files go first, alone');
    await h.finish('b');
    assert.deepEqual([...h.running], ['a', 'c']);
    await h.finish('a');
    await h.finish('c');
    await h.finish('d');
    await h.done;
    assert.deepEqual(h.seen.find((s) => s.started === 'b')!.beside, []);
    assert.ok(h.seen.every((s) => s.beside.length < 2), 'never more than 2 at once');
  });

  it('with several exclusive files, each runs alone', async () => {
    const h = harness([task('a', 0, { exclusive: true }), task('b', 1), task('c', 2, { exclusive: true })], 3);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([...h.running], ['a']);
    await h.finish('a');
    assert.deepEqual([...h.running], ['c']);
    await h.finish('c');
    assert.deepEqual([...h.running], ['b']);
    await h.finish('b');
    assert.deepEqual(await h.done, [undefined, undefined, undefined].map((_, i) => `result of ${'abc'[i]}`));
  });
});

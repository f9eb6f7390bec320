// Follow-up work a few at a time: never more than the limit at once, in the order asked, a failure frees its turn.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkPace } from '../../src/service/work-pace.ts';

describe('WorkPace', () => {
  it('runs at most `limit` at once, the rest in the order asked; a failing piece frees its turn and fails only its caller', async () => {
    const pace = new WorkPace(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        pace.run(async () => {
          started.push(i);
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 1 + (i % 4)));
          running--;
          if (i === 5) throw new Error('piece 5 failed');
          return i;
        }),
      ),
    );
    assert.equal(most, 3);
    assert.deepEqual(started, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
    assert.deepEqual(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])), Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 5));
    assert.equal(await pace.run(async () => 'after'), 'after', 'nothing left holding a turn');
  });
});

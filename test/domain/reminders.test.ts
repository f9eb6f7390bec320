import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { escalationDue, reminderAfter, remindersDue } from '../../src/domain/reminders.ts';
import { FC_RUNS } from './fixtures.ts';

const M = 60_000;

describe('reminders of undecided requests', () => {
  it('first after remindAfter, then at doubling intervals: 15m, 45m, 1h45m, …', () => {
    const o = { remindAfter: 15 * M, approvalTimeout: 24 * 60 * M };
    assert.deepEqual([1, 2, 3, 4].map((k) => reminderAfter(k, o.remindAfter) / M), [15, 45, 105, 225]);
    assert.deepEqual([0, 14, 15, 44, 45, 104, 105, 224, 225].map((w) => remindersDue(w * M, o)), [0, 0, 1, 1, 2, 2, 3, 3, 4]);
  });

  it('never at or past the approval timeout (that is the time-out), and never with remindAfter 0', () => {
    assert.equal(remindersDue(60 * M, { remindAfter: 15 * M, approvalTimeout: 45 * M }), 1, 'the 45m reminder would coincide with the time-out');
    assert.equal(remindersDue(10 * 60 * M, { remindAfter: 0, approvalTimeout: 24 * 60 * M }), 0);
  });

  it('escalates once waited escalateAfter, only when it comes before the time-out', () => {
    assert.equal(escalationDue(59 * M, { escalateAfter: 60 * M, approvalTimeout: 120 * M }), false);
    assert.equal(escalationDue(60 * M, { escalateAfter: 60 * M, approvalTimeout: 120 * M }), true);
    assert.equal(escalationDue(60 * M, { approvalTimeout: 120 * M }), false, 'no escalateAfter');
    assert.equal(escalationDue(200 * M, { escalateAfter: 120 * M, approvalTimeout: 120 * M }), false);
  });

  it('the count never decreases as time passes, and reminder k is due exactly at its time (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 7 }), fc.integer({ min: 0, max: 10 ** 9 }), fc.integer({ min: 0, max: 10 ** 9 }), (every, a, b) => {
        const o = { remindAfter: every, approvalTimeout: 10 ** 12 };
        const [early, late] = a <= b ? [a, b] : [b, a];
        assert.ok(remindersDue(early, o) <= remindersDue(late, o));
        const k = remindersDue(late, o);
        if (k > 0) assert.ok(reminderAfter(k, every) <= late && late < reminderAfter(k + 1, every));
      }),
      { numRuns: FC_RUNS },
    );
  });
});

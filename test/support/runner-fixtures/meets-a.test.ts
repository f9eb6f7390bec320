// Fixture for test/scripts/run-tests.test.ts: runs only if meets-b.test.ts runs at the same time. Each writes its
// marker file and waits for the other's; one at a time, the first would wait until its deadline (JIT_FIXTURE_MEET_MS).
import { meet } from './meet.ts';
import { it } from 'node:test';

it('meets meets-b while both run', async () => {
  await meet('a', 'b');
});

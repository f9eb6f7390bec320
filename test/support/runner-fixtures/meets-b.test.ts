// Fixture for test/scripts/run-tests.test.ts: the other half of meets-a.test.ts.
import { meet } from './meet.ts';
import { it } from 'node:test';

it('meets meets-a while both run', async () => {
  await meet('b', 'a');
});

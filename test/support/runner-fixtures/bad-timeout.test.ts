// test-timeout: soon
// Fixture for test/scripts/run-tests.test.ts: a deadline the runner cannot read is refused by name.
import { it } from 'node:test';

it('never runs', () => undefined);

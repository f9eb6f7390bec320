// Fixture for test/scripts/run-tests.test.ts: a file after the hanging one, which must still run and pass.
import assert from 'node:assert/strict';
import { it } from 'node:test';

it('runs after a file that hung', () => {
  assert.equal(1 + 1, 2);
});

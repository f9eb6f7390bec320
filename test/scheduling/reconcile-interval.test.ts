// The reconcile interval in the policy: one minute unless set, a duration like the others, never below 1s.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyError, validatePolicy } from '../../src/config/policy.ts';

const minimal = (extra: Record<string, unknown> = {}) => ({
  auditChannel: 'C0AUDIT',
  jumpHosts: [{ name: 'bastion', address: 'jump.example.com', user: 'jump', hostKey: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', privateKeyPath: '/k' }],
  hosts: [{ name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE'] }],
  ...extra,
});

function refusal(raw: unknown): string {
  try {
    validatePolicy(raw);
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    return err.message;
  }
  return assert.fail('expected a refusal');
}

describe('policy reconcileInterval', () => {
  it('defaults to one minute and reads durations', () => {
    assert.equal(validatePolicy(minimal()).reconcileInterval, 60_000);
    assert.equal(validatePolicy(minimal({ reconcileInterval: '30s' })).reconcileInterval, 30_000);
    assert.equal(validatePolicy(minimal({ reconcileInterval: '5m' })).reconcileInterval, 300_000);
  });

  it('refuses what is not a duration, and anything under a second, naming the field', () => {
    assert.match(refusal(minimal({ reconcileInterval: 'often' })), /reconcileInterval: "often" is not a duration/);
    assert.match(refusal(minimal({ reconcileInterval: 60 })), /reconcileInterval:/);
    assert.match(refusal(minimal({ reconcileInterval: '0s' })), /reconcileInterval: (must be at least 1s|"0s" is not a duration)/);
  });
});

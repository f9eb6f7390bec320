// Request rules at their edges, through evaluateRequest: a policy's own reason limit. Found missing by mutation
// testing (npm run mutate, docs/mutation.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy } from '../../src/config/policy.ts';
import { evaluateRequest } from '../../src/domain/access-policy.ts';
import { FINGERPRINT } from './fixtures.ts';

const policy = validatePolicy({
  auditChannel: 'C0AUDIT',
  defaults: { requireReason: true },
  limits: { maxReasonLength: 20 },
  jumpHosts: [{ name: 'j', address: 'j.example', user: 'jump', hostKey: FINGERPRINT, privateKeyPath: '/k' }],
  hosts: [{ name: 'a', address: '10.0.0.1', jumpHost: 'j', owners: ['S0X'] }],
});

describe('evaluateRequest with the policy’s own limits', () => {
  it('takes limits.maxReasonLength over the built-in 500, at the exact edge', () => {
    const at = evaluateRequest(policy, { hostName: 'a', reason: 'x'.repeat(20), hasKey: true });
    assert.equal(at.ok, true);
    const over = evaluateRequest(policy, { hostName: 'a', reason: 'x'.repeat(21), hasKey: true });
    assert.deepEqual(over, { ok: false, code: 'reason-too-long', message: 'reason of 21 characters over maxReasonLength 20', params: { length: 21, max: 20 } });
  });
});

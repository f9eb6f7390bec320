// A policy read again while the broker runs: the diff, its one-line summary, and what applies at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePolicyDiff, diffPolicies, planPolicyReload, sameValue } from '../../src/domain/policy-reload.ts';
import type { Policy } from '../../src/domain/policy.ts';
import { validatePolicy } from '../../src/config/policy.ts';
import { FINGERPRINT, samplePolicy } from './fixtures.ts';

/** samplePolicy() changed by `edit` (a fresh copy each time). */
function edited(edit: (p: Policy) => void): Policy {
  const p = structuredClone(samplePolicy());
  edit(p);
  return p;
}

describe('policy reload: the diff and its summary', () => {
  const cases: { name: string; edit: (p: Policy) => void; summary: string }[] = [
    { name: 'nothing', edit: () => undefined, summary: 'nothing changed' },
    {
      name: 'a host added',
      edit: (p) => p.hosts.push({ ...p.hosts[1]!, name: 'web-2', address: '10.0.0.8' }),
      summary: 'hosts added: web-2',
    },
    { name: 'a host removed', edit: (p) => p.hosts.splice(0, 1), summary: 'hosts removed: db-prod-1' },
    { name: 'owners changed', edit: (p) => p.hosts[2]!.owners.push('U0CAROL'), summary: 'owners changed: cache-1' },
    { name: 'owners in another order', edit: (p) => p.hosts[0]!.owners.reverse(), summary: 'owners changed: db-prod-1' },
    {
      name: 'a host field changed and one set',
      edit: (p) => {
        p.hosts[0]!.maxDuration = 3_600_000;
        p.hosts[1]!.approvals = 2;
      },
      summary: 'host fields changed: db-prod-1.maxDuration, web-1.approvals',
    },
    {
      name: 'defaults, limits and channels',
      edit: (p) => {
        p.defaults.maxDuration = 600_000;
        p.limits.requestsPerWindow = 5;
        p.approvalChannel = 'C0APPROVALS';
      },
      summary: 'changed: approvalChannel, defaults.maxDuration, limits.requestsPerWindow',
    },
    {
      name: 'a jump server changed, the reconcile interval and the body limit: a restart',
      edit: (p) => {
        p.jumpHosts[1]!.port = 22;
        p.reconcileInterval = 120_000;
        p.limits.maxBodyBytes = 256 * 1024;
      },
      summary: 'needs a restart, the old value stays: jumpHosts[edge], limits.maxBodyBytes, reconcileInterval',
    },
    {
      name: 'everything at once, in a fixed order',
      edit: (p) => {
        p.hosts.splice(1, 1);
        p.hosts.push({ ...p.hosts[0]!, name: 'db-prod-2', address: '10.0.0.6' });
        p.hosts[0]!.owners = ['U0DAVE'];
        p.defaults.approvalTimeout = 3_600_000;
        p.jumpHosts[0]!.retired = true;
      },
      summary:
        'hosts added: db-prod-2; hosts removed: web-1; owners changed: db-prod-1; changed: defaults.approvalTimeout; needs a restart, the old value stays: jumpHosts[bastion]',
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      assert.equal(describePolicyDiff(diffPolicies(samplePolicy(), edited(c.edit))), c.summary);
    });

  it('lists at most ten names, then how many more', () => {
    const next = edited((p) => {
      for (let i = 0; i < 12; i++) p.hosts.push({ ...p.hosts[1]!, name: `h${i}` });
    });
    assert.equal(describePolicyDiff(diffPolicies(samplePolicy(), next)), 'hosts added: h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 and 2 more');
  });

  it('compares values deeply, whatever the key order; an absent key equals undefined', () => {
    assert.ok(sameValue({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
    assert.ok(sameValue({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(!sameValue({ a: [1, 2] }, { a: [2, 1] }));
    assert.ok(!sameValue({ a: 1 }, { a: '1' }));
    assert.ok(!sameValue([], {}));
    assert.ok(sameValue(/^INC-\d+/, /^INC-\d+/) && !sameValue(/a/, /b/));
  });
});

describe('policy reload: rules', () => {
  it('a changed rule is named, and so is what it changed on the hosts it matches', () => {
    const withRule = (owners: string[]) =>
      validatePolicy({
        auditChannel: 'C0AUDIT',
        rules: [{ match: { env: 'prod' }, owners, approvals: 1 }],
        jumpHosts: [{ name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: FINGERPRINT, privateKeyPath: '/k' }],
        hosts: [
          { name: 'db-prod-1', labels: { env: 'prod' }, address: '10.0.0.5', jumpHost: 'bastion' },
          { name: 'web-1', address: '10.0.0.7', jumpHost: 'bastion', owners: ['U0ALICE'] },
        ],
      });
    assert.equal(describePolicyDiff(diffPolicies(withRule(['S0SRE']), withRule(['S0DBA']))), 'owners changed: db-prod-1; changed: rules');
  });
});

describe('policy reload: what applies at once', () => {
  it('applies hosts, owners, durations and approvals; keeps jump servers, the reconcile interval and the body limit', () => {
    const current = samplePolicy();
    const next = edited((p) => {
      p.defaults.maxDuration = 600_000;
      p.hosts[0]!.owners = ['U0DAVE'];
      p.hosts[0]!.approvals = 1;
      p.jumpHosts[1]!.address = '192.0.2.11';
      p.reconcileInterval = 300_000;
      p.limits.maxBodyBytes = 256 * 1024;
      p.limits.window = 60_000;
    });
    const plan = planPolicyReload(current, next);
    assert.ok(plan.ok);
    assert.equal(plan.changed, true);
    assert.equal(plan.policy.defaults.maxDuration, 600_000);
    assert.deepEqual(plan.policy.hosts, next.hosts);
    assert.equal(plan.policy.limits.window, 60_000);
    assert.deepEqual(plan.policy.jumpHosts, current.jumpHosts);
    assert.equal(plan.policy.reconcileInterval, current.reconcileInterval);
    assert.equal(plan.policy.limits.maxBodyBytes, current.limits.maxBodyBytes);
  });

  it('an unchanged policy is not a change', () => {
    const plan = planPolicyReload(samplePolicy(), samplePolicy());
    assert.ok(plan.ok);
    assert.equal(plan.changed, false);
  });

  it('refuses a host on a jump server the running broker does not have, naming the field', () => {
    const next = edited((p) => {
      p.jumpHosts.push({ ...p.jumpHosts[1]!, name: 'edge-2' });
      p.hosts.push({ ...p.hosts[2]!, name: 'cache-2', jumpHost: 'edge-2' });
    });
    const plan = planPolicyReload(samplePolicy(), next);
    assert.ok(!plan.ok);
    assert.match(plan.message, /^hosts\[3\]\.jumpHost: jump server "edge-2" .*needs a restart/);
  });

  it('a new jump server that no host names yet is kept for the restart, the rest applies', () => {
    const next = edited((p) => {
      p.jumpHosts.push({ ...p.jumpHosts[1]!, name: 'edge-2' });
      p.defaults.approvals = 2;
    });
    const plan = planPolicyReload(samplePolicy(), next);
    assert.ok(plan.ok);
    assert.deepEqual(plan.policy.jumpHosts.map((j) => j.name), ['bastion', 'edge']);
    assert.equal(plan.policy.defaults.approvals, 2);
    assert.equal(describePolicyDiff(plan.diff), 'changed: defaults.approvals; needs a restart, the old value stays: jumpHosts[edge-2]');
  });
});

// What the request form offers: the hosts a person may request (the same rule the typed command applies) and
// durations within their limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy } from '../../src/config/policy.ts';
import { evaluateRequest, mayRequestHost } from '../../src/domain/access-policy.ts';
import { defaultFormDuration, formDurations, MAX_FORM_OPTIONS, requestableHosts, requestFormFor } from '../../src/domain/requestable-hosts.ts';
import { request, samplePolicy } from './fixtures.ts';

const M = 60_000;
const H = 60 * M;

/** samplePolicy with the jump server `edge` (cache-1's) retired. */
function withEdgeRetired() {
  const p = samplePolicy();
  return { ...p, jumpHosts: p.jumpHosts.map((j) => (j.name === 'edge' ? { ...j, retired: true } : j)) };
}

describe('requestable hosts', () => {
  it('are every host whose jump server is not retired, in policy order', () => {
    assert.deepEqual(requestableHosts(samplePolicy(), 'U1').map((h) => h.name), ['db-prod-1', 'web-1', 'cache-1']);
    assert.deepEqual(requestableHosts(withEdgeRetired(), 'U1').map((h) => h.name), ['db-prod-1', 'web-1']);
  });

  it('follow the rule the typed /jump request applies: what the picker leaves out, the command refuses alike', () => {
    const policy = withEdgeRetired();
    for (const host of policy.hosts) {
      const may = mayRequestHost(policy, host, 'U1');
      const typed = evaluateRequest(policy, { hostName: host.name, duration: '10m', reason: 'x', hasKey: true, requester: 'U1' });
      assert.equal(may.ok, typed.ok, host.name);
      if (!may.ok && !typed.ok) assert.deepEqual([typed.code, typed.params], [may.code, may.params]);
    }
    const refused = mayRequestHost(policy, policy.hosts[2]!, 'U1');
    assert.deepEqual(refused.ok ? undefined : refused.params, { host: 'cache-1', jumpHost: 'edge' });
  });
});

describe('form durations', () => {
  it('run from minDuration to the longest maxDuration among the hosts, with the default and each host maximum, shortest first', () => {
    const policy = samplePolicy(); // min 5m, default 1h, max 4h; db-prod-1 2h, cache-1 30m
    assert.deepEqual(formDurations(policy, policy.hosts), [5 * M, 15 * M, 30 * M, H, 2 * H, 4 * H]);
    // Only cache-1 (30m): nothing over its maximum; the default (1h) is over it, so the form starts at 30m.
    const cache = policy.hosts.filter((h) => h.name === 'cache-1');
    assert.deepEqual(formDurations(policy, cache), [5 * M, 15 * M, 30 * M]);
    assert.equal(defaultFormDuration(policy, cache), 30 * M);
    assert.equal(defaultFormDuration(policy, policy.hosts), H);
    // An earlier request's duration is offered when it lies within the limits, not otherwise.
    assert.ok(formDurations(policy, policy.hosts, [20 * M]).includes(20 * M));
    assert.ok(!formDurations(policy, policy.hosts, [5 * H]).includes(5 * H));
  });

  it('keep the policy’s own durations first when there would be more than Slack shows', () => {
    const policy = samplePolicy();
    const many = Array.from({ length: 150 }, (_, i) => 6 * M + i * M);
    const d = formDurations(policy, policy.hosts, many);
    assert.equal(d.length, MAX_FORM_OPTIONS);
    for (const own of [5 * M, H, 2 * H, 4 * H]) assert.ok(d.includes(own), String(own));
    assert.deepEqual(d, [...d].sort((a, b) => a - b));
  });

  it('the odd policy: minDuration above every host maximum still gives one choice', () => {
    const policy = validatePolicy({
      auditChannel: 'C0AUDIT',
      defaults: { duration: '2h', minDuration: '1h', maxDuration: '3h' },
      jumpHosts: [{ name: 'j', address: 'j.internal', user: 'jump', hostKey: `SHA256:${'A'.repeat(43)}`, privateKeyPath: '/k' }],
      hosts: [{ name: 'h', address: '10.0.0.1', jumpHost: 'j', owners: ['U0A'] }],
    });
    assert.deepEqual(formDurations(policy, policy.hosts), [H, 2 * H, 3 * H]);
    assert.equal(defaultFormDuration(policy, policy.hosts), 2 * H);
  });
});

describe('request form', () => {
  it('offers the requestable hosts with their limits, prefilled from an earlier request when given', () => {
    const form = requestFormFor(withEdgeRetired(), 'U1', request({ durationMs: 20 * M, reason: 'again' }));
    assert.deepEqual(form.hosts, [
      { name: 'db-prod-1', maxDurationMs: 2 * H, requireReason: true },
      { name: 'web-1', maxDurationMs: 4 * H, requireReason: false },
    ]);
    assert.deepEqual(form.earlier, { id: 'rabc123', host: 'db-prod-1', durationMs: 20 * M, reason: 'again' });
    assert.ok(form.durationsMs.includes(20 * M));
    assert.equal(form.defaultDurationMs, H);
    assert.equal(form.maxReasonLength, 500);
    assert.equal(requestFormFor(samplePolicy(), 'U1').earlier, undefined);
  });

  it('with a host chosen (the earlier request’s, or picked in the form), offers the durations within that host’s limits only', () => {
    const policy = samplePolicy(); // db-prod-1 2h, web-1 4h, cache-1 30m; default 1h
    const again = requestFormFor(policy, 'U1', request({ host: 'db-prod-1', durationMs: 90 * M }));
    assert.deepEqual(again.selected, { host: 'db-prod-1', durationMs: 90 * M });
    assert.deepEqual(again.durationsMs, [5 * M, 15 * M, 30 * M, H, 90 * M, 2 * H]);
    const cache = requestFormFor(policy, 'U1', undefined, { host: 'cache-1', durationMs: 2 * H });
    assert.deepEqual(cache.durationsMs, [5 * M, 15 * M, 30 * M], 'the 2h chosen before is not offered for cache-1');
    assert.equal(cache.defaultDurationMs, 30 * M);
    assert.deepEqual(cache.selected, { host: 'cache-1', durationMs: 2 * H });
    assert.equal(cache.hosts.length, 3, 'every host stays on the picker');
    // A host the person may not request (or unknown) narrows nothing and is not selected.
    const retired = requestFormFor(withEdgeRetired(), 'U1', undefined, { host: 'cache-1' });
    assert.equal(retired.selected, undefined);
    assert.deepEqual(retired.durationsMs, formDurations(policy, policy.hosts.slice(0, 2)));
  });
});

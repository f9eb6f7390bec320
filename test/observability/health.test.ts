import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readiness } from '../../src/observability/health.ts';
import { BrokerMetrics } from '../../src/observability/metrics.ts';

describe('readiness', () => {
  it('is ready only when every check is; each failing check is named with its reason, a throwing one too', async () => {
    const r = await readiness({
      readiness: { redis: async () => undefined, workers: async () => 'a job worker is not running', slack: async () => { throw new Error('Slack unreachable'); } },
      informational: async () => ({ 'jumpHost:bastion': 'down' }),
    });
    assert.deepEqual(r, { ready: false, checks: { redis: 'ok', workers: 'a job worker is not running', slack: 'Slack unreachable' }, info: { 'jumpHost:bastion': 'down' } });
    assert.deepEqual(await readiness({ readiness: { redis: async () => undefined } }), { ready: true, checks: { redis: 'ok' } });
  });

  it('answers when a check never does: that check fails on its deadline', async () => {
    const r = await readiness({ readiness: { redis: () => new Promise(() => undefined), workers: async () => undefined } });
    assert.equal(r.ready, false);
    assert.match(r.checks.redis!, /no answer within 2 s/);
    assert.equal(r.checks.workers, 'ok');
  });
});

describe('BrokerMetrics', () => {
  it('counts request outcomes apart from other audit events, and marks a jump server down after a failed sync', async () => {
    const m = new BrokerMetrics(undefined, ['bastion']);
    for (const t of ['requested', 'approved', 'connection', 'auto-approved']) m.auditEvent(t);
    m.syncFinished('bastion', 0.01, true);
    const text = (await m.scrape()).body;
    assert.match(text, /^jit_requests_total\{outcome="requested"\} 1$/m);
    assert.match(text, /^jit_requests_total\{outcome="auto-approved"\} 1$/m);
    assert.doesNotMatch(text, /jit_requests_total\{outcome="connection"\}/);
    assert.match(text, /^jit_audit_events_total\{type="connection"\} 1$/m);
    assert.match(text, /^jit_sync_errors_total\{jump_host="bastion"\} 1$/m);
    assert.match(text, /^jit_jump_host_up\{jump_host="bastion"\} 0$/m);
    assert.equal(m.jumpHostStatus('bastion'), 'down');
    assert.equal(m.jumpHostStatus('other'), 'not synced yet');
  });
});

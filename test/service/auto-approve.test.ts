// Auto-approval at request time, against in-memory ports: a request matching a rule (user groups expanded) is
// active without a click, marked "auto-approved (rule N)" in the reply, the request and the audit events; outside
// the rule's hours, over its maxDuration or by someone else it goes to the owners as usual.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALICE, CAROL, ENG, HOUR, inMemoryService, MALLORY, unitPolicy } from '../support/in-memory/service.ts';

// The harness clock starts Monday 2026-11-23 09:00 UTC.
const policy = () =>
  unitPolicy({
    autoApprove: [
      { users: ['U0NOBODY'], hosts: ['web-1'], maxDuration: '4h' },
      { users: [ENG, 'S0CACHE'], hosts: ['web-1', 'cache-1'], maxDuration: '2h', hours: '08:00-18:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'], timezone: 'UTC' },
    ],
  });

describe('auto-approval', () => {
  it('a matching request is active at once: no owner asked, the grant installed, "auto-approved (rule 2)" everywhere', async () => {
    const h = inMemoryService({ policy: policy() });
    await h.registerKey(ENG);
    const out = await h.run(h.service.command(ENG, 'request web-1 1h deploy'));
    assert.equal(out.reply?.kind, 'auto-approved');
    const id = out.reply?.kind === 'auto-approved' ? out.reply.id : '';
    assert.deepEqual(out.reply, { kind: 'auto-approved', id, host: 'web-1', durationMs: HOUR, rule: 2 });
    const req = (await h.requests.get(id))!;
    assert.deepEqual([req.state, req.autoApproved, req.approvers, req.requiredApprovals], ['active', 2, ['jit-jump'], 1]);
    assert.equal(h.notifier.of('requestPending').length, 0, 'no owner was asked');
    assert.equal(h.notifier.of('grantActivated', id).length, 1, 'the connect instructions were sent');
    assert.deepEqual(h.sync.blocks.get('bastion'), [id]);
    assert.deepEqual(
      h.audit.filter((e) => e.requestId === id && (e.type === 'auto-approved' || e.type === 'activated')).map((e) => [e.type, e.actor, e.detail]),
      [
        ['auto-approved', 'jit-jump', 'auto-approved (rule 2)'],
        ['activated', 'jit-jump', 'auto-approved (rule 2)'],
      ],
    );
  });

  it('a member of a rule’s user group is covered too; anyone else, a longer request, or outside the hours goes to the owners', async () => {
    const h = inMemoryService({ policy: policy() });
    for (const u of [ENG, CAROL, MALLORY]) await h.registerKey(u);
    assert.equal((await h.run(h.service.command(CAROL, 'request cache-1 1h warm up'))).reply?.kind, 'auto-approved', 'CAROL is in S0CACHE');
    assert.equal((await h.run(h.service.command(MALLORY, 'request web-1 1h'))).reply?.kind, 'request-sent');
    assert.equal((await h.run(h.service.command(ENG, 'request web-1 3h long job'))).reply?.kind, 'request-sent', 'over the rule’s 2h');
    h.clock.advance(10 * HOUR); // 19:00 UTC
    const late = await h.run(h.service.command(ENG, 'request web-1 1h evening'));
    assert.equal(late.reply?.kind, 'request-sent');
    const id = late.reply?.kind === 'request-sent' ? late.reply.id : '';
    assert.deepEqual(h.notifier.of('requestPending', id).map((n) => 'owners' in n && n.owners), [[ALICE]]);
    assert.equal((await h.requests.get(id))!.autoApproved, undefined);
  });
});

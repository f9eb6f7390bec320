// Break-glass against in-memory ports: someone on the list gets access at once (no approval), loudly (audit
// `break-glass`, the owners asked to acknowledge); anyone else is refused and audited, nothing stored; an owner
// (never the one who broke the glass) acknowledges once; an unacknowledged one escalates once when its review is due.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reply } from '../../src/service/replies.ts';
import { ALICE, BOB, ENG, HOUR, inMemoryService, MALLORY, MINUTE, unitPolicy } from '../support/in-memory/service.ts';

const refusal = (r: Reply | undefined) => (r?.kind === 'refused' ? [r.code, r.params] : r);
const codeOf = (r: Reply | undefined) => (r?.kind === 'refused' ? r.code : r?.kind);
const policy = () => unitPolicy({ breakGlass: { users: [ENG, 'S0CACHE'], maxDuration: '1h', reviewWithin: '24h' } });

describe('break-glass', () => {
  it('active at once for someone on the list: installed, audited break-glass, the owners asked to acknowledge', async () => {
    const h = inMemoryService({ policy: policy() });
    await h.registerKey(ENG);
    const out = await h.run(h.service.command(ENG, 'breakglass db-1 30m prod is down, nobody answers'));
    const id = out.reply?.kind === 'break-glass' ? out.reply.id : assert.fail(JSON.stringify(out.reply));
    assert.deepEqual(out.reply, { kind: 'break-glass', id, host: 'db-1', durationMs: 30 * MINUTE, reviewWithinMs: 24 * HOUR });
    const req = (await h.requests.get(id))!;
    assert.deepEqual([req.state, req.expiresAt, req.reviewBy], ['active', h.clock.now() + 30 * MINUTE, h.clock.now() + 24 * HOUR]);
    assert.deepEqual(h.sync.blocks.get('bastion'), [id]);
    assert.equal(h.notifier.of('grantActivated', id).length, 1);
    assert.deepEqual(h.notifier.of('requestPending', id).map((n) => 'owners' in n && [n.owners, n.request.state]), [[[ALICE, BOB], 'active']], 'db-1 needs two approvals, break-glass none');
    assert.deepEqual(h.requests.auditTypes(id).slice(0, 3), ['break-glass', 'approved', 'activated']);
  });

  it('refuses anyone not on the list (audited, nothing stored), over maxDuration, and without a reason', async () => {
    const h = inMemoryService({ policy: policy() });
    for (const u of [ENG, MALLORY]) await h.registerKey(u);
    assert.deepEqual(refusal((await h.run(h.service.command(MALLORY, 'breakglass db-1 30m let me in'))).reply), ['not-break-glass', { host: 'db-1', owners: [ALICE, BOB] }]);
    assert.deepEqual(h.audit.filter((e) => e.type === 'refused').map((e) => [e.actor, e.code]), [[MALLORY, 'not-break-glass']]);
    assert.deepEqual(refusal((await h.run(h.service.command(ENG, 'breakglass db-1 2h down'))).reply), ['break-glass-too-long', { host: 'db-1', maxMs: HOUR }]);
    assert.equal(codeOf((await h.run(h.service.command(ENG, 'breakglass web-1 30m'))).reply), 'reason-required', 'a reason always, even where requests need none');
    assert.equal(h.requests.requests.size, 0);
    const none = inMemoryService();
    await none.registerKey(ENG);
    assert.equal(codeOf((await none.run(none.service.command(ENG, 'breakglass db-1 30m x'))).reply), 'not-break-glass', 'no breakGlass in the policy: nobody');
  });

  it('an owner acknowledges once, never the one who broke the glass; unacknowledged, it escalates once when due', async () => {
    const h = inMemoryService({ policy: policy() });
    await h.registerKey(ENG);
    const a = await h.run(h.service.command(ENG, 'breakglass db-1 30m first'));
    const b = await h.run(h.service.command(ENG, 'breakglass web-1 30m second'));
    const [first, second] = [a, b].map((o) => (o.reply?.kind === 'break-glass' ? o.reply.id : assert.fail()));
    assert.equal(codeOf((await h.service.acknowledge(first!, ENG)).reply), 'not-owner');
    assert.deepEqual((await h.run(h.service.acknowledge(first!, ALICE))).reply, { kind: 'acknowledged', id: first, by: ALICE });
    assert.deepEqual((await h.run(h.service.acknowledge(first!, BOB))).reply, { kind: 'acknowledged', id: first, by: ALICE }, 'the first owner stands');
    assert.equal(h.notifier.of('requestChanged', first).at(-1)?.request.acknowledgedBy, ALICE);
    h.clock.advance(24 * HOUR);
    await h.service.reviewBreakGlass();
    await h.service.reviewBreakGlass();
    const overdue = h.audit.filter((e) => e.type === 'break-glass-review-overdue');
    assert.deepEqual(overdue.map((e) => e.requestId), [second], 'only the unacknowledged one, once');
    assert.match(overdue[0]!.detail ?? '', /within 1d/);
  });
});

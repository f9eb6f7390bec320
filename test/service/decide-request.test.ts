// Approve and deny, against in-memory ports: who may decide, N-of-M distinct approvers, late and repeated clicks.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ALICE, BOB, CAROL, ENG, HOUR, inMemoryService, MALLORY, MINUTE, unitPolicy, type Harness } from '../support/in-memory/service.ts';

/** The unit policy with db-1 changed: the policy file as edited before a restart. */
const withDb1 = (changes: Record<string, unknown>) =>
  unitPolicy({ hosts: [{ name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: [ALICE, BOB], maxDuration: '2h', approvals: 2, ...changes }] });

describe('decide on a request', () => {
  let h: Harness;
  let id: string;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
    id = await h.request(ENG, 'db-1 30m fix replication'); // two approvals needed, from Alice and Bob
  });

  const refusedCodes = () => h.audit.filter((e) => e.type === 'refused' && e.requestId === id).map((e) => e.code);

  it('refuses someone who is not an owner, audits the refusal with its code, and changes nothing', async () => {
    const out = await h.service.approve(id, MALLORY);
    assert.deepEqual(out.reply, { kind: 'refused', code: 'not-owner', params: { action: 'approve', host: 'db-1' } });
    assert.deepEqual(refusedCodes(), ['not-owner']);
    assert.deepEqual(h.audit.filter((e) => e.type === 'refused').map((e) => e.detail), ['approve: not an owner of db-1'], 'the audit detail is the technical one');
    assert.deepEqual((await h.requests.get(id))?.approvers, []);
  });

  it('refuses an owner approving their own request', async () => {
    await h.registerKey(ALICE);
    const own = await h.request(ALICE, 'db-1 30m mine');
    const out = await h.service.approve(own, ALICE);
    assert.equal(out.reply?.kind === 'refused' && out.reply.code, 'self-approval');
    assert.equal((await h.requests.get(own))?.state, 'pending');
    assert.deepEqual(h.audit.filter((e) => e.requestId === own && e.type === 'refused').map((e) => e.code), ['self-approval']);
  });

  it('needs N approvals from distinct owners; the last one activates', async () => {
    const first = await h.run(h.service.approve(id, ALICE));
    assert.deepEqual(first.reply, { kind: 'approval-recorded', approvals: 1, required: 2 });
    assert.equal(h.notifier.of('approvalRecorded', id).length, 1, 'every copy shows the approval');
    const again = await h.service.approve(id, ALICE);
    assert.equal(again.reply?.kind === 'refused' && again.reply.code, 'already-approved');
    assert.equal((await h.requests.get(id))?.state, 'pending');
    const last = await h.run(h.service.approve(id, BOB));
    assert.equal(last.reply, undefined, 'the connect DM is the answer');
    const req = await h.requests.get(id);
    assert.equal(req?.state, 'active');
    assert.deepEqual(req?.approvers, [ALICE, BOB]);
    assert.equal(req?.expiresAt, h.clock.now() + 30 * MINUTE, 'the clock starts at activation');
    assert.equal(h.notifier.of('grantActivated', id).length, 1);
  });

  it('a repeated or late click does nothing twice', async () => {
    await h.run(h.service.approve(id, ALICE));
    await h.run(h.service.approve(id, BOB));
    const late = await h.run(h.service.approve(id, BOB));
    assert.deepEqual(late.reply, { kind: 'already', state: 'active' });
    assert.equal(h.notifier.of('grantActivated', id).length, 1);
    assert.deepEqual(h.requests.auditTypes(id), ['requested', 'approval-recorded', 'approved', 'activated']);
  });

  it('answers a malformed or unknown id as a request that no longer exists', async () => {
    for (const bad of ['', 'nope', 'r<!channel>', 'rzzzzzzzz']) {
      assert.deepEqual((await h.service.approve(bad, ALICE)).reply, { kind: 'request-gone' }, bad);
      assert.deepEqual((await h.service.prepareDeny(bad, ALICE)), { ok: false, reply: { kind: 'request-gone' } }, bad);
      assert.deepEqual((await h.service.deny(bad, ALICE, 'no')).reply, { kind: 'request-gone' }, bad);
    }
  });

  it('does not approve an ended request', async () => {
    await h.service.timeOut(id);
    assert.deepEqual((await h.service.approve(id, ALICE)).reply, { kind: 'already', state: 'timed-out' });
    assert.deepEqual(await h.service.prepareDeny(id, ALICE), { ok: false, reply: { kind: 'already', state: 'timed-out' } });
  });

  it('refuses an approval past the deadline (its time-out job late or lost) and times the request out', async () => {
    h.clock.advance(HOUR - 1); // the unit policy's approvalTimeout is 1h
    assert.deepEqual((await h.run(h.service.approve(id, ALICE))).reply, { kind: 'approval-recorded', approvals: 1, required: 2 });
    h.clock.advance(1);
    const out = await h.service.approve(id, BOB);
    assert.deepEqual(out.reply, { kind: 'refused', code: 'approval-too-late', params: { host: 'db-1', timeoutMs: HOUR } });
    assert.deepEqual((await h.requests.get(id))?.approvers, [ALICE], 'not recorded');
    await out.after?.();
    assert.equal((await h.requests.get(id))?.state, 'timed-out');
    assert.equal(h.notifier.of('requestTimedOut', id).length, 1, 'the requester is told');
    assert.deepEqual(refusedCodes(), ['approval-too-late']);
    assert.equal(h.notifier.of('grantActivated', id).length, 0);
  });

  it('refuses a request longer than its host allows now: it ends unapproved and the requester is asked to request again', async () => {
    const long = await h.request(ENG, 'db-1 2h long job');
    const s = h.restartedWith(withDb1({ maxDuration: '1h' }));
    const out = await s.approve(long, ALICE);
    assert.deepEqual(out.reply, { kind: 'refused', code: 'approval-over-max-duration', params: { host: 'db-1', durationMs: 2 * HOUR, maxMs: HOUR } });
    await out.after?.();
    const req = await h.requests.get(long);
    assert.deepEqual([req?.state, req?.approvers, req?.policyMaxMs, req?.decidedBy], ['denied', [], HOUR, ALICE]);
    assert.equal(h.notifier.of('requestDenied', long)[0]?.request.policyMaxMs, HOUR, 'the requester is told the new maximum');
    assert.equal(h.jobs.scheduled.has(`timeout:${long}`), false);
    assert.equal(h.notifier.of('requestChanged', long).at(-1)?.request.state, 'denied', 'every copy shows it');
    assert.deepEqual(h.audit.filter((e) => e.requestId === long).map((e) => e.type === 'refused' ? e.code : e.type), ['requested', 'approval-over-max-duration', 'denied']);
    assert.deepEqual((await s.approve(long, BOB)).reply, { kind: 'already', state: 'denied' });
  });

  it('counts the approvals the host requires now: raised means recorded and more needed, lowered means fewer', async () => {
    const s = h.restartedWith(withDb1({ owners: [ALICE, BOB, CAROL], approvals: 3 }));
    assert.deepEqual((await h.run(s.approve(id, ALICE))).reply, { kind: 'approval-recorded', approvals: 1, required: 3 });
    assert.equal(h.notifier.of('approvalRecorded', id).at(-1)?.request.requiredApprovals, 3, 'every copy shows 1 of 3');
    assert.deepEqual((await h.run(s.approve(id, BOB))).reply, { kind: 'approval-recorded', approvals: 2, required: 3 });
    await h.run(s.approve(id, CAROL));
    assert.equal((await h.requests.get(id))?.state, 'active');

    const other = await h.request(ENG, 'db-1 30m again');
    await h.run(h.restartedWith(withDb1({ approvals: 1 })).approve(other, BOB));
    assert.equal((await h.requests.get(other))?.state, 'active', 'one approval is enough now');
  });

  it('fails closed while the owners’ user group cannot be listed: decisions refused and audited, the requester may still cancel', async () => {
    const cache = await h.request(ENG, 'cache-1 30m warm it'); // owned by the group S0CACHE: Carol
    h.owners.groupsUnavailable = true;
    const unavailable = { kind: 'refused', code: 'owners-unavailable', params: { host: 'cache-1' } };
    assert.deepEqual((await h.service.approve(cache, CAROL)).reply, unavailable);
    assert.deepEqual(await h.service.prepareDeny(cache, CAROL), { ok: false, reply: unavailable });
    assert.deepEqual((await h.service.command(CAROL, `revoke ${cache}`)).reply, unavailable);
    assert.deepEqual(h.audit.filter((e) => e.requestId === cache && e.type === 'refused').map((e) => e.code), ['owners-unavailable', 'owners-unavailable', 'owners-unavailable']);
    assert.equal((await h.requests.get(cache))?.state, 'pending');
    assert.equal((await h.service.command(ENG, `revoke ${cache}`)).reply?.kind, 'cancelled');
    h.owners.groupsUnavailable = false;
    const again = await h.request(ENG, 'cache-1 30m warm it');
    await h.run(h.service.approve(again, CAROL));
    assert.equal((await h.requests.get(again))?.state, 'active', 'decisions work again once the group is listed');
  });

  it('deny: an owner may, the requester is told why, the time-out job goes, every copy shows it', async () => {
    assert.deepEqual(await h.service.prepareDeny(id, BOB), { ok: true, host: 'db-1' });
    const out = await h.service.deny(id, BOB, '  use the replica  ');
    assert.equal(out.reply, undefined);
    assert.equal((await h.requests.get(id))?.state, 'denied');
    await out.after?.();
    assert.equal(h.jobs.scheduled.has(`timeout:${id}`), false);
    const [told] = h.notifier.of('requestDenied', id);
    assert.deepEqual([told?.request.state, told?.request.decidedBy, told?.request.denyReason], ['denied', BOB, 'use the replica']);
    assert.equal(h.notifier.of('requestChanged', id).at(-1)?.request.state, 'denied');
    assert.deepEqual((await h.service.deny(id, ALICE, 'again')).reply, { kind: 'already', state: 'denied' });
    assert.equal(h.notifier.of('requestDenied', id).length, 1);
  });

  it('deny: refused for anyone but an owner (audited), and the reason is clipped to the policy limit', async () => {
    const refused = await h.service.prepareDeny(id, CAROL);
    assert.equal(!refused.ok && refused.reply.kind === 'refused' && refused.reply.code, 'not-owner');
    assert.equal((await h.service.deny(id, ENG, 'no')).reply?.kind, 'refused');
    assert.deepEqual(refusedCodes(), ['not-owner', 'not-owner']);
    await h.service.deny(id, ALICE, 'x'.repeat(2000));
    assert.equal((await h.requests.get(id))?.denyReason?.length, h.policy.limits.maxReasonLength);
  });

  it('deny: the reason is clipped by code points, so an emoji at the limit is never cut in half', async () => {
    // 'x' first puts an emoji across the limit when counted in UTF-16 units.
    await h.service.deny(id, ALICE, `x${'😀'.repeat(2000)}`);
    const stored = (await h.requests.get(id))?.denyReason ?? '';
    assert.doesNotMatch(stored, /\p{Cs}/u, 'no half surrogate pair');
    assert.equal([...stored].length, h.policy.limits.maxReasonLength);
  });
});

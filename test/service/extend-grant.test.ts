// Extending a grant, against in-memory ports: within selfExtend at once; beyond it an extension request that the
// owners decide like any request (N-of-M, deny, time-out); the limits (maxDuration per extension, maxTotalDuration
// per grant); a grant that ends first takes its waiting extension with it; the revoke and warning jobs follow the
// grant's end. The clock is moved by hand; nothing sleeps.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Reply } from '../../src/service/replies.ts';
import { ALICE, BOB, ENG, HOUR, inMemoryService, MALLORY, MINUTE, unitPolicy, type Harness } from '../support/in-memory/service.ts';

const DEFAULTS = { duration: '1h', minDuration: '5m', maxDuration: '4h', requireReason: true, approvals: 1, approvalTimeout: '1h', expiryWarning: '10m' };

describe('extending a grant', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService({ policy: unitPolicy({ defaults: { ...DEFAULTS, selfExtend: '30m', maxTotalDuration: '6h' } }) });
    await h.registerKey(ENG);
  });

  /** An active web-1 grant of ENG's (follow-up done): its id. */
  async function activeGrant(duration = '2h', host = 'web-1'): Promise<string> {
    const id = await h.request(ENG, `${host} ${duration} work`);
    await h.run(h.service.approve(id, ALICE));
    if (host === 'db-1') await h.run(h.service.approve(id, BOB));
    assert.equal((await h.requests.get(id))?.state, 'active');
    return id;
  }
  const extend = (id: string, text: string, user = ENG) => h.run(h.service.command(user, `extend ${id} ${text}`));
  const refusal = (r: Reply | undefined) => (r?.kind === 'refused' ? [r.code, r.params] : r);

  it('within selfExtend: the end moves at once, the line is rewritten, a warning for the new end, no owner asked', async () => {
    const id = await activeGrant('2h');
    const before = (await h.requests.get(id))!.expiresAt!;
    const out = await extend(id, '20m still migrating');
    assert.deepEqual(out.reply, { kind: 'extended', id, host: 'web-1', durationMs: 20 * MINUTE, expiresAt: before + 20 * MINUTE });
    const grant = (await h.requests.get(id))!;
    assert.deepEqual([grant.state, grant.expiresAt, grant.extendedMs], ['active', before + 20 * MINUTE, 20 * MINUTE]);
    assert.equal(h.jobs.scheduled.get(`expiry-warning:${id}`), before + 10 * MINUTE, 'warned 10m before the new end');
    assert.equal(h.jobs.grantEnds.get(`expiry-warning:${id}`), before + 20 * MINUTE);
    assert.deepEqual(h.sync.blocks.get('bastion'), [id], 'synced: the line stands, rendered from the new end');
    assert.equal(h.notifier.of('requestPending').length, 1, 'only the grant itself was ever sent to owners');
    const extended = h.audit.filter((e) => e.type === 'extended');
    assert.deepEqual(extended.map((e) => [e.requestId, e.actor, e.durationMs, e.expiresAt]), [[id, ENG, 20 * MINUTE, before + 20 * MINUTE]]);
  });

  it('beyond selfExtend: an extension request to the owners; the grant runs on; approved, the end moves and the requester is told', async () => {
    const id = await activeGrant('2h');
    await extend(id, '20m first');
    const before = (await h.requests.get(id))!.expiresAt!;
    const out = await extend(id, '1h second, past the 30m budget');
    assert.equal(out.reply?.kind, 'extension-sent');
    const extId = out.reply?.kind === 'extension-sent' ? out.reply.id : '';
    const ext = (await h.requests.get(extId))!;
    assert.deepEqual([ext.state, ext.extends, ext.durationMs, ext.requester, ext.host], ['pending', id, HOUR, ENG, 'web-1']);
    assert.deepEqual(h.notifier.of('requestPending', extId).map((n) => 'owners' in n && n.owners), [[ALICE]]);
    assert.equal(h.jobs.scheduled.get(`timeout:${extId}`), h.clock.now() + HOUR);
    assert.equal((await h.requests.get(id))!.expiresAt, before, 'nothing moves before a decision');

    assert.deepEqual(refusal((await extend(id, '10m again')).reply), ['extension-waiting', { id, extensionId: extId }], 'one waits at a time');
    assert.deepEqual(refusal((await h.service.approve(extId, ENG)).reply), ['self-approval', {}], 'never the requester');
    await h.run(h.service.approve(extId, ALICE));
    const grant = (await h.requests.get(id))!;
    assert.deepEqual([grant.state, grant.expiresAt, grant.extendedMs, grant.pendingExtension], ['active', before + HOUR, 80 * MINUTE, undefined]);
    const decided = (await h.requests.get(extId))!;
    assert.deepEqual([decided.state, decided.approvers, decided.expiresAt], ['extended', [ALICE], before + HOUR]);
    assert.equal(h.jobs.scheduled.has(`timeout:${extId}`), false);
    const [told] = h.notifier.of('grantExtended', id);
    assert.ok(told && 'extension' in told && told.extension.id === extId && told.request.expiresAt === before + HOUR);
    assert.equal(h.notifier.of('requestChanged', extId).at(-1)?.request.state, 'extended', 'the owners’ message shows it');
    assert.deepEqual(h.requests.auditTypes(extId), ['requested', 'refused', 'approved'], 'the self-approval attempt is audited');
    assert.equal(h.audit.filter((e) => e.type === 'extended' && e.requestId === id).length, 2);
  });

  it('N-of-M: an extension on a two-approval host needs both owners', async () => {
    const id = await activeGrant('1h', 'db-1');
    const out = await extend(id, '1h replication still behind');
    const extId = out.reply?.kind === 'extension-sent' ? out.reply.id : assert.fail(JSON.stringify(out.reply));
    const before = (await h.requests.get(id))!.expiresAt!;
    assert.deepEqual((await h.run(h.service.approve(extId, ALICE))).reply, { kind: 'approval-recorded', approvals: 1, required: 2 });
    assert.equal((await h.requests.get(id))!.expiresAt, before);
    await h.run(h.service.approve(extId, BOB));
    assert.equal((await h.requests.get(id))!.expiresAt, before + HOUR);
  });

  it('refuses, naming the limit: one extension over maxDuration, a total over maxTotalDuration, a bad or missing duration', async () => {
    const id = await activeGrant('4h');
    assert.deepEqual(refusal((await extend(id, '5h')).reply), ['extension-too-long', { id, host: 'web-1', maxMs: 4 * HOUR }]);
    assert.deepEqual(refusal((await extend(id, '3h')).reply), ['extension-over-total', { host: 'web-1', maxTotalMs: 6 * HOUR, leftMs: 2 * HOUR }]);
    assert.deepEqual(refusal((await extend(id, '1m')).reply), ['extension-too-short', { id, minMs: 5 * MINUTE }]);
    assert.deepEqual(refusal((await extend(id, 'soon')).reply), ['bad-duration', { text: 'soon' }]);
    assert.deepEqual(refusal((await h.run(h.service.command(ENG, `extend ${id}`))).reply), ['extend-needs-id-and-duration', {}]);
    assert.equal((await h.requests.get(id))!.extendedMs, undefined, 'nothing moved');
    assert.equal(h.notifier.of('requestPending').length, 1);
  });

  it('only the requester asks; anyone else is answered as if the grant did not exist, and audited', async () => {
    const id = await activeGrant('2h');
    for (const who of [ALICE, MALLORY]) assert.deepEqual((await extend(id, '20m', who)).reply, { kind: 'not-yours', id });
    assert.deepEqual(
      h.audit.filter((e) => e.type === 'refused').map((e) => [e.actor, e.code]),
      [
        [ALICE, 'not-owner'],
        [MALLORY, 'not-owner'],
      ],
    );
    assert.equal((await h.requests.get(id))!.extendedMs, undefined);
  });

  it('an ended grant cannot be extended; a pending request is no grant', async () => {
    const id = await activeGrant('2h');
    await h.run(h.service.command(ENG, `revoke ${id}`));
    assert.deepEqual(refusal((await extend(id, '20m')).reply), ['grant-not-active', { id, state: 'revoked' }]);
    const pending = await h.request(ENG, 'web-1 1h');
    assert.deepEqual(refusal((await extend(pending, '20m')).reply), ['grant-not-active', { id: pending, state: 'pending' }]);
    const late = await activeGrant('1h');
    h.clock.advance(HOUR);
    assert.deepEqual(refusal((await extend(late, '20m')).reply), ['grant-not-active', { id: late, state: 'expired' }], 'its time is up, even before the job ran');
  });

  it('denied or timed out: the grant ends as planned and the requester is told', async () => {
    const id = await activeGrant('2h');
    const before = (await h.requests.get(id))!.expiresAt!;
    const ask = async () => {
      const out = await extend(id, '1h more');
      return out.reply?.kind === 'extension-sent' ? out.reply.id : assert.fail(JSON.stringify(out.reply));
    };
    const denied = await ask();
    await h.run(h.service.deny(denied, ALICE, 'wrap up today'));
    assert.equal((await h.requests.get(denied))!.state, 'denied');
    assert.equal(h.notifier.of('requestDenied', denied).length, 1);
    const timedOut = await ask();
    h.clock.advance(HOUR);
    await h.service.timeOut(timedOut);
    assert.equal(h.notifier.of('requestTimedOut', timedOut).length, 1);
    assert.deepEqual([(await h.requests.get(id))!.expiresAt, (await h.requests.get(id))!.state], [before, 'active']);
  });

  it('a grant that ends while its extension waits takes the extension with it; an approval after the end extends nothing', async () => {
    const id = await activeGrant('2h');
    const out = await extend(id, '1h more');
    const extId = out.reply?.kind === 'extension-sent' ? out.reply.id : assert.fail();
    await h.run(h.service.command(ENG, `revoke ${id}`));
    const ext = (await h.requests.get(extId))!;
    assert.deepEqual([ext.state, ext.endReason], ['cancelled', 'grant-ended']);
    assert.equal(h.jobs.scheduled.has(`timeout:${extId}`), false);
    assert.deepEqual((await h.service.approve(extId, ALICE)).reply, { kind: 'already', state: 'cancelled' });

    // The store's own guard: an extension still pending when its grant's time is up (nothing cancelled it yet).
    const second = await activeGrant('30m');
    const waiting = await extend(second, '1h more');
    const waitingId = waiting.reply?.kind === 'extension-sent' ? waiting.reply.id : assert.fail();
    h.clock.advance(30 * MINUTE);
    const late = await h.run(h.service.approve(waitingId, ALICE));
    assert.deepEqual(refusal(late.reply), ['extension-grant-ended', { id: second }]);
    assert.deepEqual([(await h.requests.get(waitingId))!.state, (await h.requests.get(second))!.extendedMs], ['cancelled', undefined]);
    assert.equal(h.notifier.of('requestCancelled', waitingId).length, 1, 'the requester is told');
  });

  it('the policy lowered maxTotalDuration while the extension waited: denied at approval, saying the limit', async () => {
    const id = await activeGrant('2h');
    const out = await extend(id, '2h more');
    const extId = out.reply?.kind === 'extension-sent' ? out.reply.id : assert.fail();
    const stricter = h.restartedWith(unitPolicy({ defaults: { ...DEFAULTS, maxDuration: '2h', maxTotalDuration: '3h' } }));
    const r = await stricter.approve(extId, ALICE);
    assert.deepEqual(refusal(r.reply), ['extension-over-total', { host: 'web-1', maxTotalMs: 3 * HOUR, leftMs: HOUR }]);
    await r.after?.();
    assert.equal((await h.requests.get(extId))!.state, 'denied');
    assert.match((await h.requests.get(extId))!.denyReason ?? '', /at most 3h in all; it can be extended by at most 1h more/);
    assert.equal(h.notifier.of('requestDenied', extId).length, 1);
  });

  it('the revoke job for the old end waits for the new one; the warning for the old end says nothing', async () => {
    const id = await activeGrant('2h');
    const oldEnd = (await h.requests.get(id))!.expiresAt!;
    assert.equal(h.jobs.grantEnds.get(`revoke:${id}`), oldEnd, 'the revoke job is for the end it was scheduled for');
    await extend(id, '20m');
    h.clock.advance(2 * HOUR - 10 * MINUTE);
    await h.service.expiryWarning(id, oldEnd);
    assert.equal(h.notifier.of('expiryWarning', id).length, 0);
    h.clock.advance(10 * MINUTE);
    assert.equal(await h.service.expire(id, oldEnd), oldEnd + 20 * MINUTE, 'the job is told to wait for the new end');
    assert.equal((await h.requests.get(id))!.state, 'active');
    await h.service.expiryWarning(id, oldEnd + 20 * MINUTE);
    assert.equal(h.notifier.of('expiryWarning', id).length, 1);
    h.clock.advance(20 * MINUTE);
    assert.equal(await h.service.expire(id, oldEnd + 20 * MINUTE), undefined);
    assert.equal((await h.requests.get(id))!.state, 'expired');
  });
});

// A retired jump server (policy `retired: true`), against in-memory ports: no new requests, no approvals of
// pending ones, and its active grants end as `revoked` with the reason, told to the requester and audited.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ALICE, ENG, inMemoryService, type Harness } from '../support/in-memory/service.ts';

describe('retired jump server', () => {
  let h: Harness;
  /** What a restart with `retired: true` on bastion does to the policy every part reads. */
  const retire = () => {
    h.policy.jumpHosts[0]!.retired = true;
  };
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  it('refuses a request for a host behind it with its own code, and stores nothing', async () => {
    retire();
    const out = await h.service.command(ENG, 'request web-1 30m');
    assert.deepEqual(out.reply, { kind: 'refused', code: 'jump-host-retired', params: { host: 'web-1', jumpHost: 'bastion' } });
    assert.equal(out.after, undefined);
    assert.equal(h.requests.requests.size, 0);
    assert.equal(h.jobs.scheduled.size, 0);
  });

  it('refuses to approve a request made before it was retired, audits the refusal, and leaves it pending', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    retire();
    const out = await h.run(h.service.approve(id, ALICE));
    assert.deepEqual(out.reply, { kind: 'refused', code: 'jump-host-retired', params: { host: 'web-1', jumpHost: 'bastion' } });
    assert.equal((await h.requests.get(id))?.state, 'pending');
    assert.deepEqual((await h.requests.get(id))?.approvers, []);
    assert.deepEqual(h.audit.filter((e) => e.requestId === id && e.type === 'refused').map((e) => e.code), ['jump-host-retired']);
    assert.deepEqual(h.sync.synced, [], 'nothing installed');
  });

  it('ends an active grant once: revoked, reason "jump server retired", requester told, revoke job cancelled', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(id, ALICE));
    assert.equal((await h.requests.get(id))?.state, 'active');
    retire();
    assert.equal(await h.service.endForRetiredJumpHost(id), true);
    assert.equal(await h.service.endForRetiredJumpHost(id), false, 'a second call (another replica) does nothing');
    const req = await h.requests.get(id);
    assert.deepEqual([req?.state, req?.endReason, req?.decidedBy], ['revoked', 'jump-host-retired', undefined]);
    const revoked = h.audit.filter((e) => e.requestId === id && e.type === 'revoked');
    assert.equal(revoked.length, 1);
    assert.equal(revoked[0]!.reason, 'jump server retired');
    const told = h.notifier.of('grantEnded', id);
    assert.equal(told.length, 1);
    assert.equal(told[0]!.request.endReason, 'jump-host-retired');
    assert.equal(h.jobs.scheduled.has(`revoke:${id}`), false);
    assert.deepEqual(h.notifier.of('requestChanged', id).at(-1)?.request.state, 'revoked', 'the approval message shows the end');
  });
});

// `/jump revoke <id>` edges against in-memory ports: owners of another host, a host removed from the policy, and
// requests that moved on (or vanished) between the read and the write. Each assertion pins a behaviour a
// StrykerJS mutant of src/service/end-request.ts left alive.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { refuse } from '../../src/domain/result.ts';
import { ALICE, BOB, ENG, inMemoryService, unitPolicy, staleOnce, type Harness } from '../support/in-memory/service.ts';

describe('revoke or cancel: edges', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  it('an owner of another host may neither cancel nor revoke (audited)', async () => {
    const pending = await h.request(ENG, 'web-1 30m'); // web-1 is Alice's; Bob owns db-1 only
    const active = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(active, ALICE));
    assert.deepEqual((await h.service.command(BOB, `revoke ${pending}`)).reply, { kind: 'not-yours', id: pending });
    assert.deepEqual((await h.service.command(BOB, `revoke ${active}`)).reply, { kind: 'not-yours', id: active });
    assert.deepEqual([(await h.requests.get(pending))?.state, (await h.requests.get(active))?.state], ['pending', 'active']);
    assert.deepEqual(h.audit.filter((e) => e.type === 'refused').map((e) => [e.actor, e.code]), [[BOB, 'not-owner'], [BOB, 'not-owner']]);
  });

  it('a former owner of a host removed from the policy may not revoke its grant; the requester may', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(id, ALICE));
    const s = h.restartedWith(unitPolicy({ hosts: [{ name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: [ALICE, BOB] }] }));
    assert.deepEqual((await s.command(ALICE, `revoke ${id}`)).reply, { kind: 'not-yours', id });
    assert.equal((await h.requests.get(id))?.state, 'active');
    assert.deepEqual((await h.run(s.command(ENG, `revoke ${id}`))).reply, { kind: 'revoked', id, host: 'web-1' });
  });

  it('a revoke that loses the race to the expiry answers with the state the store holds', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(id, ALICE));
    const stale = (await h.requests.get(id))!;
    await h.service.expire(id);
    staleOnce(h, stale);
    const out = await h.service.command(ENG, `revoke ${id}`);
    assert.deepEqual(out.reply, { kind: 'nothing-to-revoke', id, state: 'expired' });
    assert.equal(out.after, undefined);
    assert.deepEqual(h.audit.filter((e) => e.requestId === id && e.type === 'revoked'), []);
  });

  it('a request that vanished between the read and the write: a cancel is answered as not found, a revoke with the state read', async () => {
    const pending = await h.request(ENG, 'web-1 30m');
    const active = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(active, ALICE));
    h.requests.transition = async () => refuse('not-found', 'missing');
    assert.deepEqual((await h.service.command(ENG, `revoke ${pending}`)).reply, { kind: 'not-yours', id: pending });
    assert.deepEqual((await h.service.command(ENG, `revoke ${active}`)).reply, { kind: 'nothing-to-revoke', id: active, state: 'active' });
  });

  it('an owner’s revoke syncs the grant’s jump server, cancels its revoke job, and every copy shows it revoked', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(id, ALICE));
    h.sync.synced.length = 0;
    assert.ok(h.jobs.scheduled.has(`revoke:${id}`));
    await h.run(h.service.command(ALICE, `revoke ${id}`));
    assert.deepEqual(h.sync.synced, ['bastion']);
    assert.equal(h.jobs.scheduled.has(`revoke:${id}`), false);
    assert.equal(h.notifier.of('requestChanged', id).at(-1)?.request.state, 'revoked');
  });
});

// `/jump revoke <id>` against in-memory ports: who may end what, and who is told.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ALICE, ENG, inMemoryService, MALLORY, type Harness } from '../support/in-memory/service.ts';

describe('revoke or cancel', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  async function activeGrant(): Promise<string> {
    const id = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(id, ALICE));
    return id;
  }

  it('the requester cancels a pending request', async () => {
    const id = await h.request(ENG, 'web-1 1h');
    const out = await h.run(h.service.command(ENG, `revoke ${id}`));
    assert.deepEqual(out.reply, { kind: 'cancelled', id });
    assert.equal((await h.requests.get(id))?.state, 'cancelled');
    assert.equal(h.notifier.of('requestChanged', id).at(-1)?.request.state, 'cancelled');
    assert.deepEqual((await h.service.command(ENG, `cancel ${id}`)).reply, { kind: 'nothing-to-revoke', id, state: 'cancelled' });
  });

  it('an owner cancels a pending request: the requester is told by whom, every copy says an owner cancelled it', async () => {
    const id = await h.request(ENG, 'web-1 1h');
    const out = await h.run(h.service.command(ALICE, `revoke ${id}`));
    assert.deepEqual(out.reply, { kind: 'cancelled', id });
    const [told] = h.notifier.of('requestCancelled', id);
    assert.deepEqual([told?.request.state, told?.request.decidedBy], ['cancelled', ALICE]);
    assert.equal(h.notifier.of('requestChanged', id).at(-1)?.request.decidedBy, ALICE);
    assert.equal(h.jobs.scheduled.has(`timeout:${id}`), false);
    // The requester cancelling their own is not told about it.
    const own = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.command(ENG, `revoke ${own}`));
    assert.equal(h.notifier.of('requestCancelled', own).length, 0);
  });

  it('the requester revokes their own grant: line gone, revoke job gone, no DM to themselves', async () => {
    const id = await activeGrant();
    const out = await h.run(h.service.command(ENG, `revoke ${id}`));
    assert.deepEqual(out.reply, { kind: 'revoked', id, host: 'web-1' });
    assert.deepEqual(h.sync.blocks.get('bastion'), []);
    assert.equal(h.jobs.scheduled.has(`revoke:${id}`), false);
    assert.equal(h.notifier.of('grantEnded', id).length, 0);
  });

  it('an owner revokes someone’s grant and the requester is told by whom', async () => {
    const id = await activeGrant();
    await h.run(h.service.command(ALICE, `revoke ${id}`));
    const [told] = h.notifier.of('grantEnded', id);
    assert.deepEqual([told?.request.state, told?.request.decidedBy], ['revoked', ALICE]);
  });

  it('a revocation whose sync fails is still told, keeps the revoke job (it syncs again at the end) and fails the follow-up', async () => {
    const id = await activeGrant();
    const blockWhenTold: string[][] = [];
    const grantEnded = h.notifier.grantEnded.bind(h.notifier);
    h.notifier.grantEnded = async (r) => {
      blockWhenTold.push([...(h.sync.blocks.get('bastion') ?? [])]);
      return grantEnded(r);
    };
    h.sync.failures = 1;
    await assert.rejects(h.run(h.service.command(ALICE, `revoke ${id}`)), /bastion unreachable/);
    assert.equal((await h.requests.get(id))?.state, 'revoked');
    assert.deepEqual(blockWhenTold, [[id]]);
    assert.equal(h.notifier.of('requestChanged', id).at(-1)?.request.state, 'revoked');
    assert.equal(h.jobs.scheduled.has(`revoke:${id}`), true, 'the revoke job stays');

    const next = await activeGrant();
    await h.run(h.service.command(ALICE, `revoke ${next}`));
    assert.deepEqual(blockWhenTold.at(-1), [], 'synced first: the line was gone when the requester was told');
    assert.equal(h.jobs.scheduled.has(`revoke:${next}`), false);
  });

  it('anyone else is answered as if the request did not exist, audited, and nothing changes', async () => {
    const id = await activeGrant();
    assert.deepEqual((await h.service.command(MALLORY, `revoke ${id}`)).reply, { kind: 'not-yours', id });
    assert.deepEqual((await h.service.command(MALLORY, 'revoke rnosuchone')).reply, { kind: 'not-yours', id: 'rnosuchone' });
    assert.equal((await h.requests.get(id))?.state, 'active');
    assert.deepEqual(h.audit.filter((e) => e.type === 'refused').map((e) => [e.actor, e.code]), [[MALLORY, 'not-owner']]);
  });

  it('says so when the text is not a request id', async () => {
    const out = await h.service.command(ENG, 'revoke <!channel>');
    assert.deepEqual(out.reply, { kind: 'not-an-id', text: '<!channel>' });
  });

  it('an ended grant has nothing to revoke', async () => {
    const id = await activeGrant();
    await h.service.expire(id);
    assert.deepEqual((await h.service.command(ENG, `revoke ${id}`)).reply, { kind: 'nothing-to-revoke', id, state: 'expired' });
  });
});

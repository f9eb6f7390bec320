// A request for a host taken out of the policy file since it was made: nobody may decide on it any more (its
// owners are gone with it), and the refusal is audited; the requester may still cancel it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALICE, BOB, ENG, inMemoryService, unitPolicy } from '../support/in-memory/service.ts';

describe('decisions on a host removed from the policy', () => {
  it('approve and deny are refused to its former owners and audited; the requester may still cancel', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    const id = await h.request(ENG, 'web-1 30m');
    const withoutWeb = unitPolicy({ hosts: [{ name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: [ALICE, BOB] }] });
    const s = h.restartedWith(withoutWeb);
    assert.deepEqual((await s.approve(id, ALICE)).reply, { kind: 'refused', code: 'not-owner', params: { action: 'approve', host: 'web-1' } });
    assert.deepEqual(await s.prepareDeny(id, ALICE), { ok: false, reply: { kind: 'refused', code: 'not-owner', params: { action: 'deny', host: 'web-1' } } });
    assert.deepEqual(
      h.audit.filter((e) => e.type === 'refused').map((e) => [e.requestId, e.actor, e.code]),
      [[id, ALICE, 'not-owner'], [id, ALICE, 'not-owner']],
    );
    assert.deepEqual((await h.requests.get(id))?.approvers, []);
    assert.equal((await h.run(s.command(ENG, `revoke ${id}`))).reply?.kind, 'cancelled');
  });
});

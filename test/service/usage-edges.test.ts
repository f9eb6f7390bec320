// Usage edges against in-memory ports: no usage reports is not a failure, and `/jump list` asks for the usage of
// active grants only. Each assertion pins a behaviour a StrykerJS mutant of src/service (request-events.ts,
// list.ts) could change unnoticed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { ALICE, ENG, HOUR, inMemoryService } from '../support/in-memory/service.ts';

describe('usage edges', () => {
  it('without usage reports (no sshdLog anywhere) ends and lists log no warning', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    const id = await h.approvedGrant(ENG, '1h');
    await h.service.completeActivation(id);
    await h.service.command(ENG, 'list');
    h.clock.advance(HOUR);
    await h.service.expire(id);
    assert.equal((await h.requests.get(id))?.state, 'expired');
    assert.deepEqual(h.logs.filter((l) => l.level === 'warn'), []);
  });

  it('`/jump list` asks for the usage of active grants only; a pending request is listed without one', async () => {
    const asked: string[] = [];
    const usage = { usage: async (grant: AccessRequest) => (asked.push(grant.id), 'not used') };
    const h = inMemoryService({ usage });
    await h.registerKey(ENG);
    const active = await h.approvedGrant(ENG, '1h');
    await h.service.completeActivation(active);
    const pending = await h.request(ENG, 'web-1 30m');
    const out = await h.service.command(ENG, 'list');
    const open = out.reply?.kind === 'list' ? out.reply.open : [];
    assert.deepEqual(open.map((r) => [r.id, r.state, r.usage]).sort(), [[active, 'active', 'not used'], [pending, 'pending', undefined]].sort());
    assert.deepEqual(asked, [active]);
    assert.equal(open.find((r) => r.id === active)?.approvers.includes(ALICE), true, 'the grant is listed whole, with its usage added');
  });

  it('a jump server whose log is not read (the reports answer nothing) leaves no usage field on the ended grant', async () => {
    // The Redis store writes every field it is given as text: an absent usage must not become "undefined".
    const h = inMemoryService({ usage: { usage: async () => undefined } });
    await h.registerKey(ENG);
    const expired = await h.approvedGrant(ENG, '1h');
    await h.service.completeActivation(expired);
    const revoked = await h.approvedGrant(ENG, '1h');
    await h.service.completeActivation(revoked);
    await h.run(h.service.command(ALICE, `revoke ${revoked}`));
    h.clock.advance(HOUR);
    await h.service.expire(expired);
    for (const id of [expired, revoked]) {
      const req = await h.requests.get(id);
      assert.ok(req?.state === 'expired' || req?.state === 'revoked', id);
      assert.equal('usage' in req, false, `${id}: no usage field`);
    }
  });

  it('a failure to read the usage is logged with the grant and the error', async () => {
    const failure = new Error('jump server unreachable');
    const h = inMemoryService({ usage: { usage: async () => { throw failure; } } });
    await h.registerKey(ENG);
    const id = await h.approvedGrant(ENG, '1h');
    await h.service.completeActivation(id);
    await h.run(h.service.command(ENG, `revoke ${id}`));
    assert.deepEqual(h.logs.filter((l) => l.msg === 'could not read how the grant was used').map((l) => [l.level, l.obj]), [['warn', { err: failure, requestId: id }]]);
  });
});

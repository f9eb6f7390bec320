// `/jump key …` edges against in-memory ports: what is logged for a refused key, removing no key, requests stored
// without a fingerprint, and requests that moved on between the key change's read and its write. Each
// assertion pins a behaviour a StrykerJS mutant of src/service/keys.ts left alive.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { ALICE, ENG, inMemoryService, publicKeyLine, type Harness } from '../support/in-memory/service.ts';

describe('key change edges', () => {
  let h: Harness;
  beforeEach(() => {
    h = inMemoryService();
  });

  /** `recentForUser` answers what it held now (before another replica moves the requests on), once. */
  async function freezeRecent(): Promise<void> {
    const snapshot = await h.requests.recentForUser(ENG, 200);
    const real = h.requests.recentForUser.bind(h.requests);
    let used = false;
    h.requests.recentForUser = async (user, limit) => {
      if (used || user !== ENG) return real(user, limit);
      used = true;
      return structuredClone(snapshot);
    };
  }

  it('logs a refused key without its text and without flagging it as a private key', async () => {
    // (a pasted private key never reaches addKey: the command parser drops it first)
    await h.service.command(ENG, 'key add ssh-dss AAAAB3NzaC1kc3M=');
    assert.deepEqual(h.logs.filter((l) => l.msg === 'key refused').map((l) => [l.level, l.obj]), [['info', { user: ENG, privateKeyPasted: false }]]);
  });

  it('`key remove` without a key says there is none', async () => {
    assert.deepEqual((await h.service.command(ENG, 'key remove')).reply, { kind: 'no-key-to-remove' });
  });

  it('a key change cancels the time-out job of the pending requests it cancels', async () => {
    await h.registerKey(ENG);
    const pending = await h.request(ENG, 'web-1 1h');
    assert.ok(h.jobs.scheduled.has(`timeout:${pending}`), 'scheduled at request time');
    await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`));
    assert.equal(h.jobs.scheduled.has(`timeout:${pending}`), false);
  });

  it('`key remove` ends a request stored before keys were bound (no fingerprint)', async () => {
    await h.registerKey(ENG);
    const old = await h.request(ENG, 'web-1 1h');
    delete h.requests.requests.get(old)!.keyFingerprint;
    const out = await h.run(h.service.command(ENG, 'key remove'));
    assert.deepEqual(out.reply?.kind === 'key-removed' && [out.reply.endedGrants, out.reply.cancelledRequests], [0, 1]);
    assert.equal((await h.requests.get(old))?.state, 'cancelled');
  });

  it('a pending request approved meanwhile ends as a grant; one denied meanwhile is left alone', async () => {
    await h.registerKey(ENG);
    const approved = await h.request(ENG, 'web-1 1h');
    const denied = await h.request(ENG, 'web-1 1h');
    await freezeRecent();
    await h.run(h.service.approve(approved, ALICE));
    await h.run(h.service.deny(denied, ALICE, 'no'));
    const out = await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`));
    assert.deepEqual(out.reply?.kind === 'key-saved' && [out.reply.endedGrants, out.reply.cancelledRequests], [1, 0]);
    const [a, d] = [await h.requests.get(approved), await h.requests.get(denied)];
    assert.deepEqual([a?.state, a?.endReason], ['revoked', 'key-changed']);
    assert.deepEqual([d?.state, d?.endReason], ['denied', undefined]);
    assert.equal(h.notifier.of('grantEnded', approved).length, 1);
  });

  it('a grant that expired meanwhile is not counted or told as ended by the key change', async () => {
    await h.registerKey(ENG);
    const id = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(id, ALICE));
    await freezeRecent();
    await h.service.expire(id);
    const out = await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`));
    assert.deepEqual(out.reply?.kind === 'key-saved' && [out.reply.endedGrants, out.reply.cancelledRequests], [0, 0]);
    assert.equal((await h.requests.get(id))?.state, 'expired');
    assert.equal(h.notifier.of('grantEnded', id).length, 1, 'told once, by the expiry');
  });

  it('the usage is read (from the jump server’s log) only for the grants the key change ends', async () => {
    const asked: string[] = [];
    h = inMemoryService({ usage: { usage: async (grant: AccessRequest) => (asked.push(grant.id), 'not used') } });
    await h.registerKey(ENG);
    const expired = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(expired, ALICE));
    await h.service.expire(expired);
    assert.equal((await h.requests.get(expired))?.state, 'expired');
    const active = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(active, ALICE));
    const denied = await h.request(ENG, 'web-1 1h');
    await freezeRecent();
    await h.run(h.service.deny(denied, ALICE, 'no'));
    asked.length = 0;
    const out = await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`));
    assert.deepEqual(out.reply?.kind === 'key-saved' && [out.reply.endedGrants, out.reply.cancelledRequests], [1, 0]);
    assert.deepEqual(asked, [active]);
  });
});

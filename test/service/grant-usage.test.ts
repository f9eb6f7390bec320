// How a grant was used (from its jump server's sshd log) is recorded as it ends: on the request, in the audit
// event of the end, and in the end message; `/jump list` shows it so far. Reading it never holds up an end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { ALICE, ENG, MINUTE, inMemoryService } from '../support/in-memory/service.ts';

/** Usage reports that answer from a table, and record what they were asked. */
function reports(text: string | Error) {
  const asked: { id: string; endedAt?: number; now: number }[] = [];
  return {
    asked,
    async usage(grant: AccessRequest, now: number) {
      asked.push({ id: grant.id, endedAt: grant.endedAt, now });
      if (text instanceof Error) throw text;
      return text;
    },
  };
}

async function activeGrant(usage?: ReturnType<typeof reports>) {
  const h = inMemoryService({ usage });
  await h.registerKey(ENG);
  const id = await h.approvedGrant(ENG, '2h');
  await h.service.completeActivation(id);
  return { h, id };
}

describe('grant usage', () => {
  it('expiry records the usage up to the end on the request, in the expired event and in the end message', async () => {
    const usage = reports('used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22');
    const { h, id } = await activeGrant(usage);
    h.clock.advance(2 * 60 * MINUTE);
    await h.service.expire(id);
    assert.deepEqual(usage.asked, [{ id, endedAt: h.clock.now(), now: h.clock.now() }], 'asked as of the end');
    assert.equal((await h.requests.get(id))?.usage, 'used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22');
    assert.equal(h.audit.filter((e) => e.requestId === id && e.type === 'expired')[0]?.detail, 'used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22');
    assert.equal(h.notifier.of('grantEnded', id)[0]?.request.usage, 'used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22');
  });

  it('an owner’s revoke records it too; a requester’s own revoke in the revoked event', async () => {
    const usage = reports('not used');
    const { h, id } = await activeGrant(usage);
    await h.run(h.service.command(ALICE, `revoke ${id}`));
    assert.equal(h.audit.find((e) => e.requestId === id && e.type === 'revoked')?.detail, 'not used');
    assert.equal(h.notifier.of('grantEnded', id)[0]?.request.usage, 'not used');
    const again = await activeGrant(usage);
    await again.h.run(again.h.service.command(ENG, `revoke ${again.id}`));
    assert.equal((await again.h.requests.get(again.id))?.usage, 'not used');
  });

  it('a key change ends the grant with its usage after the reason', async () => {
    const usage = reports('used under 1 min in 1 connection from 127.0.0.1 to 10.0.0.5:22');
    const { h, id } = await activeGrant(usage);
    await h.run(h.service.command(ENG, 'key remove'));
    assert.equal(h.audit.find((e) => e.requestId === id && e.type === 'revoked')?.detail, 'key changed; used under 1 min in 1 connection from 127.0.0.1 to 10.0.0.5:22');
  });

  it('a failure to read the usage is logged and the grant ends all the same, without it', async () => {
    const { h, id } = await activeGrant(reports(new Error('jump server unreachable')));
    h.clock.advance(2 * 60 * MINUTE);
    await h.service.expire(id);
    const ended = await h.requests.get(id);
    assert.equal(ended?.state, 'expired');
    assert.equal(ended?.usage, undefined);
    assert.ok(!('detail' in h.audit.find((e) => e.requestId === id && e.type === 'expired')!), 'no empty detail');
    assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg === 'could not read how the grant was used'));
  });

  it('without usage reports (no sshdLog anywhere) nothing about usage appears', async () => {
    const { h, id } = await activeGrant();
    h.clock.advance(2 * 60 * MINUTE);
    await h.service.expire(id);
    assert.equal((await h.requests.get(id))?.usage, undefined);
    assert.ok(!('detail' in h.audit.find((e) => e.requestId === id && e.type === 'expired')!));
  });

  it('/jump list shows each active grant’s usage so far', async () => {
    const usage = reports('used 3 min in 1 connection from 127.0.0.1 to 10.0.0.5:22');
    const { h, id } = await activeGrant(usage);
    const out = await h.service.command(ENG, 'list');
    assert.equal(out.reply?.kind, 'list');
    const open = (out.reply as { open: AccessRequest[] }).open;
    assert.deepEqual(open.map((r) => [r.id, r.usage]), [[id, 'used 3 min in 1 connection from 127.0.0.1 to 10.0.0.5:22']]);
  });
});

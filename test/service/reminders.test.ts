// Reminders of undecided requests, against in-memory ports: due ones are sent once each, to the owners who have
// not approved yet (and escalateTo once escalated), never for a decided request or past the time-out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALICE, BOB, CAROL, ENG, MINUTE, inMemoryService, unitPolicy } from '../support/in-memory/service.ts';

const policy = unitPolicy({
  defaults: { duration: '1h', minDuration: '5m', maxDuration: '4h', requireReason: true, approvals: 1, approvalTimeout: '3h', expiryWarning: '10m', remindAfter: '15m', escalateAfter: '1h', escalateTo: ['S0CACHE'] },
});

async function pending(host = 'db-1 1h fix it') {
  const h = inMemoryService({ policy });
  await h.registerKey(ENG);
  const id = await h.request(ENG, host);
  return { h, id };
}

describe('reminders', () => {
  it('reminds the owners at 15m and 45m, once each however often it runs', async () => {
    const { h, id } = await pending();
    await h.service.remind(id);
    assert.equal(h.notifier.of('reminder', id).length, 0, 'not yet');
    h.clock.advance(15 * MINUTE);
    await h.service.remind(id);
    await h.service.remind(id);
    h.clock.advance(20 * MINUTE);
    await h.service.remind(id);
    h.clock.advance(10 * MINUTE);
    await h.service.remind(id);
    const sent = h.notifier.of('reminder', id) as { waitedMs: number; to: readonly string[]; escalated: boolean }[];
    assert.deepEqual(sent.map((r) => [r.waitedMs / MINUTE, [...r.to].sort(), r.escalated]), [[15, [ALICE, BOB], false], [45, [ALICE, BOB], false]]);
  });

  it('skips an owner who already approved, and the requester', async () => {
    const { h, id } = await pending();
    await h.service.approve(id, ALICE); // db-1 needs 2 approvals: still pending
    h.clock.advance(15 * MINUTE);
    await h.service.remind(id);
    assert.deepEqual((h.notifier.of('reminder', id)[0] as { to: readonly string[] }).to, [BOB]);
  });

  it('escalates at escalateAfter to escalateTo (user groups expanded) as well as the owners', async () => {
    const { h, id } = await pending();
    h.clock.advance(60 * MINUTE);
    await h.service.remind(id);
    const [r] = h.notifier.of('reminder', id) as { to: readonly string[]; escalated: boolean }[];
    assert.deepEqual([[...r!.to].sort(), r!.escalated], [[ALICE, BOB, CAROL].sort(), true]);
    await h.service.remind(id);
    assert.equal(h.notifier.of('reminder', id).length, 1, 'once');
  });

  it('says nothing about a decided request, or one past its approval timeout', async () => {
    const decided = await pending('web-1 1h');
    await decided.h.service.approve(decided.id, ALICE);
    decided.h.clock.advance(15 * MINUTE);
    await decided.h.service.remind(decided.id);
    assert.equal(decided.h.notifier.of('reminder', decided.id).length, 0);
    const late = await pending();
    late.h.clock.advance(3 * 60 * MINUTE);
    await late.h.service.remind(late.id);
    assert.equal(late.h.notifier.of('reminder', late.id).length, 0);
  });
});

// Shorter approvals against in-memory ports: an owner approves for less than asked (never more, never under
// minDuration); with several approvals the grant lasts the shortest time any approver chose.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ALICE, BOB, ENG, HOUR, inMemoryService, MINUTE, type Harness } from '../support/in-memory/service.ts';

describe('approve for less than asked', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  it('a shorter approval activates a grant that ends that much sooner, and says so in its events', async () => {
    const id = await h.request(ENG, 'web-1 2h deploy'); // one approval, from Alice
    const out = await h.run(h.service.approve(id, ALICE, '30m'));
    assert.equal(out.reply, undefined);
    const req = await h.requests.get(id);
    assert.equal(req?.state, 'active');
    assert.equal(req?.expiresAt, h.clock.now() + 30 * MINUTE, 'expiresAt = activation + the approved 30m, not the 2h asked');
    assert.equal(req?.durationMs, 2 * HOUR, 'what was asked stays on the request');
    assert.deepEqual([req?.approvedMs, req?.shortenedBy], [30 * MINUTE, ALICE]);
    const events = h.audit.filter((e) => e.requestId === id && (e.type === 'approved' || e.type === 'activated'));
    assert.deepEqual(
      events.map((e) => [e.type, e.durationMs, e.detail]),
      [
        ['approved', 30 * MINUTE, `approved for 30m of 2h asked (shortened by ${ALICE})`],
        ['activated', 30 * MINUTE, `approved for 30m of 2h asked (shortened by ${ALICE})`],
      ],
    );
    assert.equal(h.notifier.of('grantActivated', id).length, 1);
  });

  it('the asked duration chosen (or none) approves as asked', async () => {
    const id = await h.request(ENG, 'web-1 2h deploy');
    await h.run(h.service.approve(id, ALICE, '2h'));
    const req = await h.requests.get(id);
    assert.equal(req?.expiresAt, h.clock.now() + 2 * HOUR);
    assert.equal(req?.approvedMs, undefined);
    assert.equal(h.audit.find((e) => e.requestId === id && e.type === 'activated')?.detail, undefined);
  });

  for (const [name, chosen, code] of [
    ['longer than asked', '3h', 'approve-longer-than-asked'],
    ['under minDuration (5m)', '2m', 'approve-under-min'],
    ['no duration at all', 'soon', 'approve-bad-duration'],
  ] as const) {
    it(`refuses an approval ${name}, audits it, and changes nothing`, async () => {
      const id = await h.request(ENG, 'web-1 2h deploy');
      const out = await h.service.approve(id, ALICE, chosen);
      assert.equal(out.reply?.kind === 'refused' && out.reply.code, code);
      const req = await h.requests.get(id);
      assert.deepEqual([req?.state, req?.approvers, req?.approvedMs], ['pending', [], undefined]);
      assert.deepEqual(h.audit.filter((e) => e.requestId === id && e.type === 'refused').map((e) => e.code), [code]);
    });
  }

  it('N-of-M: the grant lasts the shortest time any approver chose, whoever approved last', async () => {
    const id = await h.request(ENG, 'db-1 2h fix replication'); // two approvals: Alice and Bob
    const first = await h.run(h.service.approve(id, ALICE, '30m'));
    assert.deepEqual(first.reply, { kind: 'approval-recorded', approvals: 1, required: 2 });
    const recorded = h.audit.find((e) => e.requestId === id && e.type === 'approval-recorded');
    assert.equal(recorded?.durationMs, 30 * MINUTE);
    await h.run(h.service.approve(id, BOB, '1h')); // longer than Alice's choice: Alice's stands
    const req = await h.requests.get(id);
    assert.equal(req?.state, 'active');
    assert.equal(req?.expiresAt, h.clock.now() + 30 * MINUTE);
    assert.equal(req?.shortenedBy, ALICE);
    assert.equal(h.audit.find((e) => e.requestId === id && e.type === 'activated')?.detail, `approved for 30m of 2h asked (shortened by ${ALICE})`);
  });

  it('N-of-M: a later, shorter choice wins', async () => {
    const id = await h.request(ENG, 'db-1 2h fix replication');
    await h.run(h.service.approve(id, ALICE, '1h'));
    await h.run(h.service.approve(id, BOB, '15m'));
    const req = await h.requests.get(id);
    assert.deepEqual([req?.expiresAt, req?.shortenedBy], [h.clock.now() + 15 * MINUTE, BOB]);
  });
});

// Requesting access, against in-memory ports: every policy rule refuses with its code and changes nothing.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { RefusalDetail } from '../../src/domain/result.ts';
import { ALICE, BOB, CAROL, ENG, HOUR, inMemoryService, MINUTE, type Harness } from '../support/in-memory/service.ts';

describe('request access', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  /** Nothing stored, scheduled or posted. */
  function assertNothingChanged(): void {
    assert.equal(h.requests.requests.size, 0);
    assert.equal(h.jobs.scheduled.size, 0);
    assert.deepEqual(h.notifier.notices, []);
  }

  it('stores a pending request, schedules its time-out and asks the owners after the reply', async () => {
    const out = await h.service.command(ENG, 'request db-1 30m fix replication');
    assert.deepEqual(out.reply, { kind: 'request-sent', id: 'rtest1', host: 'db-1', durationMs: 30 * MINUTE, requiredApprovals: 2 });
    const req = await h.requests.get('rtest1');
    assert.deepEqual({ state: req?.state, reason: req?.reason, requester: req?.requester, jumpHost: req?.jumpHost }, { state: 'pending', reason: 'fix replication', requester: ENG, jumpHost: 'bastion' });
    assert.equal(h.jobs.scheduled.get('timeout:rtest1'), h.clock.now() + HOUR);
    assert.deepEqual(h.notifier.notices, [], 'owners are asked only in the follow-up');
    await out.after?.();
    const [asked] = h.notifier.of('requestPending');
    assert.deepEqual(asked && 'owners' in asked ? asked.owners : [], [ALICE, BOB]);
    assert.deepEqual(await h.requests.messageRefs('rtest1'), [
      { channel: `D${ALICE}`, ts: '1.0' },
      { channel: `D${BOB}`, ts: '1.1' },
    ]);
    assert.deepEqual(h.requests.auditTypes('rtest1'), ['requested']);
  });

  it('never asks the requester to approve their own request, and expands user groups', async () => {
    await h.registerKey(ALICE);
    await h.request(ALICE, 'db-1 30m checking');
    const [asked] = h.notifier.of('requestPending');
    assert.deepEqual(asked && 'owners' in asked ? asked.owners : [], [BOB]);
    await h.request(ENG, 'cache-1 10m warm it');
    const cache = h.notifier.of('requestPending').at(-1);
    assert.deepEqual(cache && 'owners' in cache ? cache.owners : [], [CAROL]);
  });

  const refusals: [string, string, RefusalDetail][] = [
    ['unknown host', 'request nope 30m because', { code: 'unknown-host', params: { host: 'nope', known: ['db-1', 'web-1', 'cache-1'] } }],
    ['bad duration', 'request db-1 5x because', { code: 'bad-duration', params: { text: '5x' } }],
    ['too long', 'request db-1 3h because', { code: 'duration-too-long', params: { host: 'db-1', maxMs: 2 * HOUR } }],
    ['too short', 'request db-1 1m because', { code: 'duration-too-short', params: { host: 'db-1', minMs: 5 * MINUTE } }],
  ];
  for (const [what, text, refusal] of refusals)
    it(`refuses a request: ${what}`, async () => {
      const out = await h.service.command(ENG, text);
      assert.deepEqual(out.reply, { kind: 'refused', ...refusal }, 'the code and the data of the sentence, no sentence');
      assert.equal(out.after, undefined);
      assertNothingChanged();
    });

  it('a request lacking its required reason opens the form for it; its refusal is the answer if Slack does not open it', async () => {
    const out = await h.service.command(ENG, 'request db-1 30m');
    const reply = out.reply?.kind === 'request-form' ? out.reply : assert.fail(JSON.stringify(out.reply));
    assert.deepEqual(reply.fallback, { code: 'reason-required', params: { host: 'db-1', durationMs: 30 * MINUTE } });
    assert.equal(out.after, undefined);
    assertNothingChanged();
  });

  it('accepts a request with no reason where the host does not require one, for the default duration', async () => {
    await h.request(ENG, 'web-1');
    assert.equal((await h.requests.get('rtest1'))?.durationMs, HOUR);
  });

  it('refuses a request from someone with no key registered', async () => {
    const out = await h.service.command(MALLORY_NO_KEY, 'request web-1 30m');
    assert.deepEqual(out.reply?.kind === 'refused' && out.reply.code, 'no-key');
    assertNothingChanged();
  });

  it('caps the requests one person may have pending', async () => {
    await h.request(ENG, 'web-1 30m');
    await h.request(ENG, 'web-1 30m');
    const out = await h.service.command(ENG, 'request web-1 30m');
    assert.deepEqual(out.reply, { kind: 'too-many-pending', pending: 2, max: 2 });
    assert.equal(h.requests.requests.size, 2);
    // Someone else is not affected, and a decided request no longer counts.
    await h.registerKey(BOB);
    await h.request(BOB, 'web-1 30m');
    await h.service.command(ENG, 'revoke rtest1');
    await h.request(ENG, 'web-1 30m');
  });

  it('rate-limits requests per person, audits the first refusal of a window only, and lets the window slide', async () => {
    for (let i = 0; i < 5; i++) {
      const id = await h.request(ENG, 'web-1 30m');
      await h.service.command(ENG, `revoke ${id}`); // keep under the pending cap
    }
    const refused = await h.service.command(ENG, 'request web-1 30m');
    assert.equal(refused.reply?.kind, 'rate-limited');
    assert.deepEqual(refused.reply?.kind === 'rate-limited' && [refused.reply.what, refused.reply.limit], ['request', 5]);
    await h.service.command(ENG, 'request web-1 30m');
    const audited = h.audit.filter((e) => e.type === 'refused' && e.code === 'rate-limited');
    assert.equal(audited.length, 1, 'audited once per window');
    assert.equal(h.requests.requests.size, 5);
    h.clock.advance(HOUR + 1);
    await h.request(ENG, 'web-1 30m');
  });
});

const MALLORY_NO_KEY = 'U0NOKEY';

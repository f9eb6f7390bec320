// Extending a grant in Redis: each step one Lua script, checked where it cannot be raced: the self-extension
// budget, one waiting extension per grant, maxTotalMs, the grant's end (a grant whose time is up is never
// extended), and the revoke job's guard (a job for an end that has moved does not expire the grant).
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { AuditEvent } from '../../src/domain/audit-event.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import { asRequested } from '../support/approval-rules.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
let counter = 0;

function draft(overrides: Partial<AccessRequest> = {}): AccessRequest {
  counter++;
  return {
    id: `rext${counter}`,
    requester: 'UREQ',
    host: 'db-1',
    jumpHost: 'bastion',
    durationMs: HOUR,
    reason: 'more time',
    state: 'pending',
    createdAt: NOW,
    requiredApprovals: 1,
    approvers: [],
    ...overrides,
  };
}

const event = (type: AuditEvent['type'], requestId: string): AuditEvent => ({ type, at: NOW, requestId });

describe('extension store', () => {
  const db = useFreshRedis();
  let store: RequestStore;
  beforeEach(() => {
    store = new RequestStore(db.redis);
  });

  /** An active grant of one hour, activated at NOW. */
  async function activeGrant(): Promise<AccessRequest> {
    const g = draft();
    await store.create(g, event('requested', g.id));
    const r = await store.approve(g, 'UOWNER', NOW, asRequested(g));
    assert.ok(r.ok && r.value.activated);
    return (await store.get(g.id))!;
  }
  const ask = (grant: AccessRequest, ms: number, limits: { now?: number; maxTotalMs?: number; selfExtendMs?: number } = {}) => {
    const ext = draft({ durationMs: ms, extends: grant.id, createdAt: limits.now ?? NOW + 1000 });
    const events = { extended: event('extended', grant.id), requested: event('requested', ext.id) };
    return store.askExtension(grant, ext, events, { now: NOW + 1000, maxTotalMs: 4 * HOUR, selfExtendMs: 0, ...limits }).then((r) => ({ r, ext }));
  };
  const activeScore = (g: AccessRequest) => db.redis.zscore(store.keys.activeGrants(g.jumpHost), g.id).then(Number);

  it('within the self-extension budget: the end, extendedMs and the active index move together, audited once', async () => {
    const g = await activeGrant();
    const { r } = await ask(g, 30 * 60_000, { selfExtendMs: HOUR });
    assert.deepEqual(r, { ok: true, value: { extended: true, expiresAt: NOW + HOUR + 30 * 60_000 } });
    const after = (await store.get(g.id))!;
    assert.deepEqual([after.expiresAt, after.extendedMs, await activeScore(g)], [NOW + 90 * 60_000, 30 * 60_000, NOW + 90 * 60_000]);
    // A second one past the budget (30m + 45m > 1h) is stored for the owners instead.
    const second = await ask(g, 45 * 60_000, { selfExtendMs: HOUR });
    assert.deepEqual(second.r, { ok: true, value: { extended: false } });
    assert.deepEqual([(await store.get(second.ext.id))?.state, (await store.get(g.id))?.pendingExtension], ['pending', second.ext.id]);
    assert.ok((await store.pendingIds()).includes(second.ext.id));
    const third = await ask(g, 10 * 60_000, { selfExtendMs: 2 * HOUR });
    assert.equal(third.r.ok ? 'ok' : third.r.code, 'waiting', 'one extension waits at a time, even one within the budget');
  });

  it('never extends a grant whose time is up or that has ended, nor past maxTotalMs', async () => {
    const g = await activeGrant();
    const late = await ask(g, HOUR, { now: NOW + HOUR, selfExtendMs: 2 * HOUR });
    assert.equal(late.r.ok ? 'ok' : late.r.code, 'grant-ended');
    const long = await ask(g, 4 * HOUR, { selfExtendMs: 8 * HOUR });
    assert.deepEqual(long.r.ok ? 'ok' : [long.r.code, 'totalMs' in long.r && long.r.totalMs], ['over-total', 5 * HOUR]);
    await store.transition(g, 'revoked', event('revoked', g.id));
    const ended = await ask(g, HOUR, { selfExtendMs: 2 * HOUR });
    assert.deepEqual(ended.r.ok ? 'ok' : [ended.r.code, 'grantState' in ended.r && ended.r.grantState], ['grant-ended', 'revoked']);
    assert.equal((await store.get(g.id))!.expiresAt, NOW + HOUR);
  });

  it('the last approval of an extension moves the grant’s end in the same step; after the grant’s end it moves nothing', async () => {
    const g = await activeGrant();
    const { ext } = await ask(g, HOUR);
    const approved = await store.approve(ext, 'UOWNER', NOW + 2000, asRequested(ext, { maxTotalMs: 4 * HOUR }));
    assert.deepEqual(approved, { ok: true, value: { activated: false, extendedGrant: g.id, expiresAt: NOW + 2 * HOUR } });
    const [grant, decided] = [(await store.get(g.id))!, (await store.get(ext.id))!];
    assert.deepEqual([grant.expiresAt, grant.extendedMs, grant.pendingExtension, await activeScore(g)], [NOW + 2 * HOUR, HOUR, undefined, NOW + 2 * HOUR]);
    assert.deepEqual([decided.state, decided.approvers, decided.expiresAt], ['extended', ['UOWNER'], NOW + 2 * HOUR]);
    assert.equal((await store.pendingIds()).includes(ext.id), false);

    const again = await ask((await store.get(g.id))!, HOUR);
    const tooLate = await store.approve(again.ext, 'UOWNER', NOW + 2 * HOUR, asRequested(again.ext, { maxTotalMs: 4 * HOUR }));
    assert.deepEqual(tooLate.ok ? 'ok' : [tooLate.code, 'grantState' in tooLate && tooLate.grantState], ['grant-ended', 'active']);
    assert.deepEqual((await store.get(again.ext.id))!.approvers, [], 'the approval is not recorded');
    const overTotal = await store.approve(again.ext, 'UOWNER', NOW + 3000, asRequested(again.ext, { maxTotalMs: 2 * HOUR }));
    assert.equal(overTotal.ok ? 'ok' : overTotal.code, 'over-total');
    assert.equal((await store.get(g.id))!.expiresAt, NOW + 2 * HOUR);
  });

  it('a revoke job for an end that has moved does not expire the grant; one for the current end does', async () => {
    const g = await activeGrant();
    await ask(g, HOUR, { selfExtendMs: HOUR });
    const stale = await store.transition(g, 'expired', event('expired', g.id), {}, { expiresAt: NOW + HOUR });
    assert.deepEqual(stale.ok ? 'ok' : [stale.code, 'expiresAt' in stale && stale.expiresAt], ['not-due', NOW + 2 * HOUR]);
    assert.equal((await store.get(g.id))!.state, 'active');
    const due = await store.transition(g, 'expired', event('expired', g.id), {}, { expiresAt: NOW + 2 * HOUR });
    assert.equal(due.ok, true);
  });

  it('an extension’s last approval racing the grant’s expiry: exactly one wins each time, whichever order Redis runs them in', async () => {
    const seen = { extended: 0, expired: 0 };
    for (let round = 0; round < 40; round++) {
      const g = await activeGrant();
      const { ext } = await ask(g, HOUR);
      // Both at the grant's end (the revoke job runs then; the approval is still before it by the clock it carries),
      // sent at once; which reaches Redis first alternates (one connection keeps the order it is given).
      const approve = () => store.approve(ext, 'UOWNER', NOW + HOUR - 1, asRequested(ext, { maxTotalMs: 4 * HOUR }));
      const expire = () => store.transition(g, 'expired', event('expired', g.id), {}, { expiresAt: NOW + HOUR });
      const [approved, expired] =
        round % 2 === 0 ? await Promise.all([approve(), expire()]) : await Promise.all([expire(), approve()]).then(([e, a]) => [a, e] as const);
      const [grant, extension] = [(await store.get(g.id))!, (await store.get(ext.id))!];
      if (approved.ok) {
        assert.equal(expired.ok ? 'ok' : expired.code, 'not-due', 'the job for the old end must not expire it');
        assert.deepEqual([grant.state, grant.expiresAt, extension.state, await activeScore(g)], ['active', NOW + 2 * HOUR, 'extended', NOW + 2 * HOUR]);
        seen.extended++;
      } else {
        assert.equal(approved.code, 'grant-ended');
        assert.ok(expired.ok);
        assert.deepEqual([grant.state, grant.expiresAt, extension.state, await db.redis.zscore(store.keys.activeGrants(g.jumpHost), g.id)], ['expired', NOW + HOUR, 'pending', null]);
        seen.expired++;
      }
    }
    assert.deepEqual(seen, { extended: 20, expired: 20 }, 'the order Redis ran them in decides, and nothing else');
    console.log(`extension approval vs expiry, 40 rounds on real Redis: ${seen.extended} extended, ${seen.expired} expired`);
  });
});

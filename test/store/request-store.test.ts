// Atomic transitions against a real redis-server.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { KeyStore } from '../../src/store/key-store.ts';
import type { ActivationLease } from '../../src/service/ports.ts';
import { LockHeldTooLongError, LockLostError } from '../../src/store/redis-lock.ts';
import { ACTIVATION_HOLD_LEASES, RequestStore } from '../../src/store/request-store.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';
import { codeOf } from '../support/results.ts';
import { asRequested } from '../support/approval-rules.ts';
import { until } from '../support/flow.ts';

const NOW = 1_800_000_000_000;
let counter = 0;

function draft(overrides: Partial<AccessRequest> = {}): AccessRequest {
  counter++;
  return {
    id: `rtest${counter}`,
    requester: 'UREQ',
    host: 'db-prod-1',
    jumpHost: 'bastion',
    durationMs: 3_600_000,
    reason: 'fix',
    state: 'pending',
    createdAt: NOW,
    requiredApprovals: 1,
    approvers: [],
    ...overrides,
  };
}

async function auditTypes(redis: Redis, store: RequestStore, requestId: string): Promise<string[]> {
  const entries = await redis.xrange(store.keys.auditStream, '-', '+');
  return entries
    .map(([, fields]) => JSON.parse(fields[fields.indexOf('e') + 1]!) as { type: string; requestId?: string })
    .filter((e) => e.requestId === requestId)
    .map((e) => e.type);
}

describe('RequestStore', () => {
  const db = useFreshRedis();
  let store: RequestStore;
  beforeEach(() => {
    store = new RequestStore(db.redis);
  });

  it('stores and reads back a request', async () => {
    const req = draft({ reason: 'with "quotes" and\nnewline' });
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    assert.deepEqual(await store.get(req.id), req);
    assert.deepEqual(await auditTypes(db.redis, store, req.id), ['requested']);
  });

  it('needs distinct approvers and activates on the last required approval, starting the clock then', async () => {
    const req = draft({ requiredApprovals: 2 });
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    assert.deepEqual(codeOf(await store.approve(req, 'UREQ', NOW + 1, asRequested(req))), { ok: false, code: 'self-approval' });
    assert.deepEqual(codeOf(await store.approve(req, 'UA', NOW + 2, asRequested(req))), { ok: true, value: { activated: false, approvals: 1, required: 2 } });
    assert.deepEqual(codeOf(await store.approve(req, 'UA', NOW + 3, asRequested(req))), { ok: false, code: 'already-approved' });
    assert.deepEqual(codeOf(await store.approve(req, 'UB', NOW + 10_000, asRequested(req))), { ok: true, value: { activated: true, expiresAt: NOW + 10_000 + 3_600_000 } });
    const stored = await store.get(req.id);
    assert.equal(stored?.state, 'active');
    assert.deepEqual(stored?.approvers, ['UA', 'UB']);
    assert.equal(stored?.activatedAt, NOW + 10_000);
    assert.deepEqual(await store.activeGrantIds('bastion', NOW + 10_000), [req.id]);
    assert.deepEqual(codeOf(await store.approve(req, 'UC', NOW + 20_000, asRequested(req))), { ok: false, code: 'conflict', state: 'active' });
    assert.deepEqual(await auditTypes(db.redis, store, req.id), ['requested', 'approval-recorded', 'approved', 'activated']);
  });

  it('shorter approvals: keeps the shortest time any approver chose, atomically, and the grant lasts that long', async () => {
    const req = draft({ requiredApprovals: 3, durationMs: 2 * 3_600_000 });
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    const rules = asRequested(req);
    await store.approve(req, 'UA', NOW + 1, rules, 3_600_000); // 1h of the 2h asked
    await store.approve(req, 'UB', NOW + 2, rules, 5_400_000); // 90m: longer than UA's 1h, UA's stands
    assert.deepEqual([(await store.get(req.id))?.approvedMs, (await store.get(req.id))?.shortenedBy], [3_600_000, 'UA']);
    const last = await store.approve(req, 'UC', NOW + 10_000, rules, 1_800_000); // 30m: the shortest wins
    assert.deepEqual(codeOf(last), { ok: true, value: { activated: true, expiresAt: NOW + 10_000 + 1_800_000 } });
    const stored = await store.get(req.id);
    assert.deepEqual([stored?.durationMs, stored?.approvedMs, stored?.shortenedBy, stored?.expiresAt], [2 * 3_600_000, 1_800_000, 'UC', NOW + 10_000 + 1_800_000]);
    assert.deepEqual(await store.activeGrantIds('bastion', NOW + 10_000 + 1_799_000), [req.id]);
    assert.deepEqual(await store.activeGrantIds('bastion', NOW + 10_000 + 1_800_000), [], 'the grant ends after the approved 30m, not the 2h asked');
    const events = (await db.redis.xrange(store.keys.auditStream, '-', '+'))
      .map(([, fields]) => JSON.parse(fields[fields.indexOf('e') + 1]!) as { type: string; requestId?: string; durationMs?: number; detail?: string; expiresAt?: number })
      .filter((e) => e.requestId === req.id && e.type !== 'requested');
    assert.deepEqual(
      events.map((e) => [e.type, e.durationMs, e.detail]),
      [
        ['approval-recorded', 3_600_000, 'approved for 1h of 2h asked (shortened by UA)'],
        ['approval-recorded', 3_600_000, 'approved for 1h of 2h asked (shortened by UA)'],
        ['approved', 1_800_000, 'approved for 30m of 2h asked (shortened by UC)'],
        ['activated', 1_800_000, 'approved for 30m of 2h asked (shortened by UC)'],
      ],
    );
    assert.equal(events.at(-1)?.expiresAt, NOW + 10_000 + 1_800_000);
  });

  it('shorter approvals: a choice of the asked time, or longer (never checked by a caller), grants what was asked', async () => {
    const req = draft();
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    assert.deepEqual(codeOf(await store.approve(req, 'UA', NOW, asRequested(req), 3 * 3_600_000)), { ok: true, value: { activated: true, expiresAt: NOW + 3_600_000 } });
    assert.equal((await store.get(req.id))?.approvedMs, undefined);
  });

  it('lets exactly one of many simultaneous approvals activate', async () => {
    const req = draft();
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    const approvers = Array.from({ length: 25 }, (_, i) => `UOWNER${i}`);
    // Separate connections, so the calls really race on the server.
    const clients = approvers.map(() => new Redis(db.url));
    const results = await Promise.all(approvers.map((a, i) => new RequestStore(clients[i]!).approve(req, a, NOW, asRequested(req))));
    clients.forEach((c) => c.disconnect());
    assert.equal(results.filter((r) => r.ok && r.value.activated).length, 1);
    assert.equal(results.filter((r) => !r.ok && r.code === 'conflict').length, 24);
    const types = await auditTypes(db.redis, store, req.id);
    assert.equal(types.filter((t) => t === 'activated').length, 1);
  });

  it('ends a grant once: expired removes it from the active index, a second end is refused', async () => {
    const req = draft();
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    await store.approve(req, 'UA', NOW, asRequested(req));
    const first = await store.transition(req, 'expired', { type: 'expired', at: NOW, requestId: req.id }, { endedAt: NOW + 5 });
    assert.deepEqual(first, { ok: true, value: { from: 'active' } });
    const second = await store.transition(req, 'revoked', { type: 'revoked', at: NOW, requestId: req.id });
    assert.deepEqual(codeOf(second), { ok: false, code: 'conflict', state: 'expired' });
    assert.deepEqual(await store.activeGrantIds('bastion', NOW), []);
    assert.equal((await store.get(req.id))?.endedAt, NOW + 5);
    assert.deepEqual(await auditTypes(db.redis, store, req.id), ['requested', 'approved', 'activated', 'expired']);
  });

  it('refuses transitions the state machine does not allow', async () => {
    const req = draft();
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    assert.deepEqual(codeOf(await store.transition(req, 'expired', { type: 'expired', at: NOW })), { ok: false, code: 'conflict', state: 'pending' });
    assert.deepEqual(codeOf(await store.transition({ id: 'rmissing', jumpHost: 'bastion' }, 'denied', { type: 'denied', at: NOW })), { ok: false, code: 'not-found' });
    assert.equal((await store.transition(req, 'denied', { type: 'denied', at: NOW })).ok, true);
    assert.deepEqual(codeOf(await store.approve(req, 'UA', NOW, asRequested(req))), { ok: false, code: 'conflict', state: 'denied' });
  });

  it('never lists a grant past its expiry as active, even before its revoke job ran', async () => {
    const req = draft({ durationMs: 1000 });
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    await store.approve(req, 'UA', NOW, asRequested(req));
    assert.deepEqual(await store.activeGrantIds('bastion', NOW + 999), [req.id]);
    assert.deepEqual(await store.activeGrantIds('bastion', NOW + 1000), []);
    assert.deepEqual(await store.overdueGrantIds('bastion', NOW + 1000), [req.id]);
    assert.equal(await store.nextExpiry('bastion', NOW), NOW + 1000);
  });

  it('reads what a sync renders in one step: the active grants whole and each requester’s key line once, nothing ended or of another jump server', async () => {
    const keys = new KeyStore(db.redis);
    const key = (n: string) => ({ line: `ssh-ed25519 AAAA${n} ${n}@laptop`, type: 'ssh-ed25519', bits: 256, fingerprint: `SHA256:${n}` });
    await keys.set('UONE', key('one'), NOW);
    await keys.set('UTWO', key('two'), NOW);
    const grant = async (o: Partial<AccessRequest>) => {
      const req = draft(o);
      await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
      await store.approve(req, 'UA', NOW, asRequested(req));
      return req;
    };
    assert.deepEqual(await store.renderInputs('bastion', NOW), { grants: [], keyLines: new Map() }, 'none yet: an empty list');
    const a = await grant({ requester: 'UONE', durationMs: 1000 });
    const b = await grant({ requester: 'UONE' });
    const c = await grant({ requester: 'UTWO', reason: 'quote " and \\ back\nslash' });
    const keyless = await grant({ requester: 'UNOKEY' });
    await grant({ requester: 'UTWO', jumpHost: 'other-bastion' });
    const read = await store.renderInputs('bastion', NOW + 1000); // a has ended by then
    assert.deepEqual(read.grants.map((g) => g.id).sort(), [b.id, c.id, keyless.id].sort());
    assert.deepEqual(read.grants.find((g) => g.id === c.id), await store.get(c.id), 'whole, as get reads it');
    assert.deepEqual([...read.keyLines].sort(), [['UONE', key('one').line], ['UTWO', key('two').line]]);
    assert.equal((await store.renderInputs('bastion', NOW + 999)).grants.some((g) => g.id === a.id), true);
  });

  it('gives up an activation lease whose follow-up never settles: the call fails, the follow-up stays owed, another replica runs it', async () => {
    const req = draft();
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    await store.approve(req, 'UA', NOW, asRequested(req));
    // Long enough that an event loop stalled by a loaded machine does not lose the lease by accident.
    const leaseMs = 1500;
    const otherRedis = new Redis(db.url);
    try {
      const other = new RequestStore(otherRedis); // another replica
      let held: ActivationLease | undefined;
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      // A follow-up stuck on a call that never answers (as a BullMQ add across a Redis restart once did).
      const stuck = store.withActivationLease(req.id, leaseMs, async (lease) => {
        held = lease;
        entered();
        await new Promise<never>(() => undefined);
      });
      await inside;
      assert.equal(await other.withActivationLease(req.id, leaseMs, async () => assert.fail('ran beside the holder')), false, 'held while it runs');
      await assert.rejects(guarded(stuck, 60_000 + ACTIVATION_HOLD_LEASES * leaseMs, 'the stuck follow-up to give its lease up'), LockHeldTooLongError);
      assert.throws(() => held!.check(), LockLostError, 'the abandoned follow-up can no longer pass its lease check');
      assert.deepEqual(await store.activationsOwed(), [req.id], 'still owed');
      let ran = false;
      const took = await other.withActivationLease(req.id, leaseMs, async () => {
        ran = true;
        await other.finishActivation(req.id);
      });
      assert.equal(took && ran, true, 'another replica ran the follow-up at once');
      assert.deepEqual(await store.activationsOwed(), []);
    } finally {
      otherRedis.disconnect();
    }
  });

  it('takes the activation lease beside the approval that activates: held for the follow-up, given back by an approval that only records', async () => {
    const leaseMs = 5000;
    const req = draft({ requiredApprovals: 2 });
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    const leaseKey = store.keys.activationLease(req.id);
    const first = await store.approve(req, 'UA', NOW + 1, asRequested(req), undefined, leaseMs);
    assert.ok(first.ok && !first.value.activated && !('lease' in first.value));
    // Given back at once (compare-and-delete, not awaited by approve): gone before long.
    await until('the recording approval to give the lease back', async () => (await db.redis.exists(leaseKey)) === 0);
    const second = await store.approve(req, 'UB', NOW + 2, asRequested(req), undefined, leaseMs);
    assert.ok(second.ok && second.value.activated && second.value.lease, 'activated, holding the lease');
    assert.equal(await db.redis.exists(leaseKey), 1);
    const other = new RequestStore(db.redis); // another replica (the reconciler) finds it held
    assert.equal(await other.withActivationLease(req.id, leaseMs, async () => assert.fail('ran beside the holder')), false);
    let seen: string | undefined;
    const ran = await store.withActivationLease(req.id, leaseMs, async (_lease, r) => {
      seen = r?.state;
      await store.finishActivation(req.id);
    }, second.value.lease);
    assert.equal(ran, true);
    assert.equal(seen, 'active', 'the request as the approval left it, read under the lease');
    assert.equal(await db.redis.exists(leaseKey), 0, 'released after the follow-up');
    assert.equal(await store.withActivationLease(req.id, leaseMs, async () => assert.fail('no longer owed')), false);
  });
});

/** Settles like `p`, or rejects after `ms`: a hang fails the test instead of stalling the file. */
function guarded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('KeyStore', () => {
  const db = useFreshRedis();

  it('keeps one key per person and refuses a key registered to someone else', async () => {
    const keys = new KeyStore(db.redis);
    const a = { line: 'ssh-ed25519 AAAAA', type: 'ssh-ed25519', bits: 256, fingerprint: 'SHA256:aaa/+' };
    const b = { line: 'ssh-ed25519 AAAAB', type: 'ssh-ed25519', bits: 256, fingerprint: 'SHA256:bbb' };
    assert.deepEqual(await keys.set('U1', a, NOW), { ok: true, value: { replaced: false } });
    assert.deepEqual(codeOf(await keys.set('U2', a, NOW)), { ok: false, code: 'key-taken' });
    assert.deepEqual(await keys.set('U1', b, NOW), { ok: true, value: { replaced: true } });
    // U1's old key was released when U1 replaced it.
    assert.deepEqual(await keys.set('U2', a, NOW), { ok: true, value: { replaced: false } });
    assert.equal((await keys.get('U1'))?.line, b.line);
    assert.deepEqual([...(await keys.linesFor(['U1', 'U2', 'U3']))], [
      ['U1', b.line],
      ['U2', a.line],
    ]);
  });
});

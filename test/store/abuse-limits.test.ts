// Abuse limits (rate limits, the pending-request cap) and key removal against a real redis-server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { useFreshRedis } from '../support/fresh-redis.ts';
import { codeOf } from '../support/results.ts';
import { KeyStore } from '../../src/store/key-store.ts';
import { RateLimiter } from '../../src/store/rate-limit.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

function draft(id: string, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return { id, requester: 'U1', host: 'db', jumpHost: 'bastion', durationMs: HOUR, reason: 'r', state: 'pending', createdAt: NOW, requiredApprovals: 1, approvers: [], ...overrides };
}

describe('RateLimiter, pending cap and KeyStore.remove', () => {
  const db = useFreshRedis();

  it('allows `limit` actions per window, then refuses with the time until a slot frees', async () => {
    const rl = new RateLimiter(db.redis);
    for (let i = 1; i <= 3; i++) assert.deepEqual(await rl.take('request', 'U1', 3, HOUR, NOW + i * 1000), { ok: true, count: i });
    const r = await rl.take('request', 'U1', 3, HOUR, NOW + 10_000);
    assert.equal(r.ok, false);
    assert.equal((r as { retryAfterMs: number }).retryAfterMs, HOUR - 9_000, 'until the oldest slot leaves the window');
    assert.equal((r as { firstRefusal: boolean }).firstRefusal, true);
    const again = await rl.take('request', 'U1', 3, HOUR, NOW + 11_000);
    assert.equal((again as { firstRefusal: boolean }).firstRefusal, false, 'the second refusal in the window is not new');
    // the window slides: once the first action is an hour old, one slot is free again
    assert.equal((await rl.take('request', 'U1', 3, HOUR, NOW + 1000 + HOUR)).ok, true);
    assert.equal((await rl.take('request', 'U1', 3, HOUR, NOW + 1001 + HOUR)).ok, false);
  });

  it('counts people and kinds apart', async () => {
    const rl = new RateLimiter(db.redis);
    assert.equal((await rl.take('request', 'U1', 1, HOUR, NOW)).ok, true);
    assert.equal((await rl.take('request', 'U1', 1, HOUR, NOW)).ok, false);
    assert.equal((await rl.take('request', 'U2', 1, HOUR, NOW)).ok, true);
    assert.equal((await rl.take('key-change', 'U1', 1, HOUR, NOW)).ok, true);
  });

  it('is atomic: 100 simultaneous takes over two connections grant exactly the limit', async () => {
    const other = new Redis(db.url);
    try {
      const a = new RateLimiter(db.redis);
      const b = new RateLimiter(other);
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).take('request', 'U1', 7, HOUR, NOW)));
      assert.equal(results.filter((r) => r.ok).length, 7);
      assert.equal(results.filter((r) => !r.ok && r.firstRefusal).length, 1, 'exactly one refusal is the first');
    } finally {
      other.disconnect();
    }
  });

  it('expires its keys with the window (nothing piles up in Redis)', async () => {
    const rl = new RateLimiter(db.redis);
    await rl.take('request', 'U1', 5, HOUR, NOW);
    const ttl = await db.redis.pttl(rl.keys.rateLimit('request', 'U1'));
    assert.ok(ttl > 0 && ttl <= HOUR, String(ttl));
  });

  it('removes a key, frees its fingerprint for someone else, and audits it', async () => {
    const keys = new KeyStore(db.redis);
    const key = { line: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', type: 'ssh-ed25519', bits: 256, fingerprint: 'SHA256:abc' };
    assert.deepEqual(await keys.set('U1', key, NOW), { ok: true, value: { replaced: false } });
    assert.deepEqual(codeOf(await keys.set('U2', key, NOW)), { ok: false, code: 'key-taken' }, 'the same key for two people is refused');
    assert.deepEqual(await keys.remove('U1', NOW + 1), { ok: true, value: { fingerprint: 'SHA256:abc' } });
    assert.equal(await keys.get('U1'), undefined);
    assert.deepEqual(codeOf(await keys.remove('U1', NOW + 2)), { ok: false, code: 'no-key' });
    assert.deepEqual(await keys.set('U2', key, NOW + 3), { ok: true, value: { replaced: false } }, 'a removed key may be registered again');
    const events = (await db.redis.xrange(keys.keys.auditStream, '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('e') + 1]!) as { type: string; actor: string; detail?: string });
    assert.deepEqual(events.map((e) => `${e.type} ${e.actor} ${e.detail ?? ''}`), [
      'key-added U1 ssh-ed25519 SHA256:abc',
      'key-removed U1 ssh-ed25519 SHA256:abc',
      'key-added U2 ssh-ed25519 SHA256:abc',
    ]);
  });

  it('caps pending requests atomically: 20 simultaneous creates with a cap of 3 store exactly 3', async () => {
    const other = new Redis(db.url);
    try {
      const stores = [new RequestStore(db.redis), new RequestStore(other)];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => stores[i % 2]!.createWithinCap(draft(`rcap${i}`), { type: 'requested', at: NOW, requestId: `rcap${i}` }, 3)),
      );
      assert.equal(results.filter((r) => r.ok).length, 3);
      assert.deepEqual(codeOf(results.find((r) => !r.ok)!), { ok: false, code: 'too-many-pending', pending: 3 });
      const stored = await stores[0]!.recentForUser('U1', 50);
      assert.equal(stored.length, 3);
      const created = stored[0]!;
      assert.deepEqual(await stores[0]!.get(created.id), draft(created.id), 'stored exactly like create()');
      const audit = await db.redis.xlen(stores[0]!.keys.auditStream);
      assert.equal(audit, 3, 'one audit event per stored request, none for refused ones');
    } finally {
      other.disconnect();
    }
  });

  it('counts only pending requests against the cap, and only the requester’s own', async () => {
    const store = new RequestStore(db.redis);
    const ev = { type: 'requested' as const, at: NOW };
    assert.ok((await store.createWithinCap(draft('rdone1', { state: 'active' }), ev, 1)).ok);
    assert.ok((await store.createWithinCap(draft('rdone2', { state: 'denied' }), ev, 1)).ok);
    assert.ok((await store.createWithinCap(draft('rpend1'), ev, 1)).ok);
    assert.deepEqual(codeOf(await store.createWithinCap(draft('rpend2'), ev, 1)), { ok: false, code: 'too-many-pending', pending: 1 });
    assert.ok((await store.createWithinCap(draft('rother', { requester: 'U2' }), ev, 1)).ok);
  });
});

// Rate limits and key removal against a real redis-server.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';
import { KeyStore } from '../../src/store/key-store.ts';
import { RateLimiter } from '../../src/store/rate-limit.ts';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

describe('RateLimiter and KeyStore.remove', () => {
  let server: RedisProcess;
  let redis: Redis;
  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
  });

  it('allows `limit` actions per window, then refuses with the time until a slot frees', async () => {
    const rl = new RateLimiter(redis);
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
    const rl = new RateLimiter(redis);
    assert.equal((await rl.take('request', 'U1', 1, HOUR, NOW)).ok, true);
    assert.equal((await rl.take('request', 'U1', 1, HOUR, NOW)).ok, false);
    assert.equal((await rl.take('request', 'U2', 1, HOUR, NOW)).ok, true);
    assert.equal((await rl.take('key-change', 'U1', 1, HOUR, NOW)).ok, true);
  });

  it('is atomic: 100 simultaneous takes over two connections grant exactly the limit', async () => {
    const other = new Redis(server.url);
    try {
      const a = new RateLimiter(redis);
      const b = new RateLimiter(other);
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).take('request', 'U1', 7, HOUR, NOW)));
      assert.equal(results.filter((r) => r.ok).length, 7);
      assert.equal(results.filter((r) => !r.ok && r.firstRefusal).length, 1, 'exactly one refusal is the first');
    } finally {
      other.disconnect();
    }
  });

  it('expires its keys with the window (nothing piles up in Redis)', async () => {
    const rl = new RateLimiter(redis);
    await rl.take('request', 'U1', 5, HOUR, NOW);
    const ttl = await redis.pttl(rl.keys.rateLimit('request', 'U1'));
    assert.ok(ttl > 0 && ttl <= HOUR, String(ttl));
  });

  it('removes a key, frees its fingerprint for someone else, and audits it', async () => {
    const keys = new KeyStore(redis);
    const key = { line: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', type: 'ssh-ed25519', bits: 256, fingerprint: 'SHA256:abc' };
    assert.deepEqual(await keys.set('U1', key, NOW), { ok: true, replaced: false });
    assert.deepEqual(await keys.set('U2', key, NOW), { ok: false, reason: 'taken' }, 'the same key for two people is refused');
    assert.deepEqual(await keys.remove('U1', NOW + 1), { removed: true, fingerprint: 'SHA256:abc' });
    assert.equal(await keys.get('U1'), undefined);
    assert.deepEqual(await keys.remove('U1', NOW + 2), { removed: false });
    assert.deepEqual(await keys.set('U2', key, NOW + 3), { ok: true, replaced: false }, 'a removed key may be registered again');
    const events = (await redis.xrange(keys.keys.auditStream, '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('e') + 1]!) as { type: string; actor: string; detail?: string });
    assert.deepEqual(events.map((e) => `${e.type} ${e.actor} ${e.detail ?? ''}`), [
      'key-registered U1 ssh-ed25519 SHA256:abc',
      'key-removed U1 ssh-ed25519 SHA256:abc',
      'key-registered U2 ssh-ed25519 SHA256:abc',
    ]);
  });
});

// Per-person rate limits in Redis, so every replica counts together. One Lua script per check: two commands
// arriving at once on two replicas can never both take the last slot.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { runScript } from './scripts.ts';

export type RateLimitKind = 'request' | 'key-change';

export type RateLimitResult =
  | { ok: true; count: number }
  /** `firstRefusal`: the first refusal in this window (audit it once, not on every retry) */
  | { ok: false; retryAfterMs: number; firstRefusal: boolean };

export class RateLimiter {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  /** Takes one slot of `limit` per `windowMs` for this person and kind, if one is free. */
  async take(kind: RateLimitKind, user: string, limit: number, windowMs: number, now: number): Promise<RateLimitResult> {
    const member = `${now}-${randomBytes(6).toString('hex')}`;
    const r = await runScript(
      this.redis,
      'rate-limit',
      { window: this.keys.rateLimit(kind, user), notice: this.keys.rateLimitNotice(kind, user) },
      { now, windowMs, limit, member },
    );
    if (r.status === 'ok') return { ok: true, count: Number(r.count) };
    return { ok: false, retryAfterMs: Number(r.retryAfterMs), firstRefusal: r.firstRefusal === '1' };
  }
}

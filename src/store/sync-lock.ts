// One sync of a jump server at a time across replicas: the per-jump-server lock (redis-lock.ts) under its key.
// The same, under another key, keeps one pass over a jump server's sshd log at a time (`purpose: 'sshd-log'`).
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { RedisLock, type Lease } from './redis-lock.ts';

export class SyncLocks {
  private readonly keys: RedisKeys;
  private readonly lock: RedisLock;

  private readonly keyOf: (jumpHost: string) => string;

  constructor(redis: Redis, o: { leaseMs: number; waitMs: number; maxHoldMs?: number; prefix?: string; purpose?: 'sync' | 'sshd-log' }) {
    this.keys = redisKeys(o.prefix);
    this.keyOf = o.purpose === 'sshd-log' ? this.keys.logLock : this.keys.syncLock;
    this.lock = new RedisLock(redis, { leaseMs: o.leaseMs, waitMs: o.waitMs, maxHoldMs: o.maxHoldMs });
  }

  /** Runs `fn` holding this jump server's lock, waiting for it up to waitMs (LockTimeoutError after). */
  with<T>(jumpHost: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
    return this.lock.with(this.keyOf(jumpHost), fn);
  }
}

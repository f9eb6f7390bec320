// One sync of a jump server at a time across replicas: the per-jump-server lock (redis-lock.ts) under its key.
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { RedisLock, type Lease } from './redis-lock.ts';

export class SyncLocks {
  private readonly keys: RedisKeys;
  private readonly lock: RedisLock;

  constructor(redis: Redis, o: { leaseMs: number; waitMs: number; prefix?: string }) {
    this.keys = redisKeys(o.prefix);
    this.lock = new RedisLock(redis, { leaseMs: o.leaseMs, waitMs: o.waitMs });
  }

  /** Runs `fn` holding this jump server's lock, waiting for it up to waitMs (LockTimeoutError after). */
  with<T>(jumpHost: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
    return this.lock.with(this.keys.syncLock(jumpHost), fn);
  }
}

// One sync of a jump server at a time across replicas: the per-jump-server lock (redis-lock.ts) under its key.
// The same, under another key, keeps one pass over a jump server's sshd log at a time (`purpose: 'sshd-log'`).
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { runRead, type PipelinedRead } from './pipelined-read.ts';
import { RedisLock, type Lease } from './redis-lock.ts';

export class SyncLocks {
  private readonly keys: RedisKeys;
  private readonly lock: RedisLock;

  private readonly keyOf: (jumpHost: string) => string;

  constructor(private readonly redis: Redis, o: { leaseMs: number; waitMs: number; maxHoldMs?: number; prefix?: string; purpose?: 'sync' | 'sshd-log' }) {
    this.keys = redisKeys(o.prefix);
    this.keyOf = o.purpose === 'sshd-log' ? this.keys.logLock : this.keys.syncLock;
    this.lock = new RedisLock(redis, { leaseMs: o.leaseMs, waitMs: o.waitMs, maxHoldMs: o.maxHoldMs });
  }

  /** Runs `fn` holding this jump server's lock, waiting for it up to waitMs (LockTimeoutError after). */
  with<T>(jumpHost: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
    return this.lock.with(this.keyOf(jumpHost), fn);
  }

  /** `with`, and `read` answered under the lock (in the round trip that takes it, when it is free). */
  withRead<R, T>(jumpHost: string, read: PipelinedRead<R>, fn: (lease: Lease, value: R) => Promise<T>): Promise<T> {
    return this.lock.withRead(this.keyOf(jumpHost), read, fn);
  }

  /** The same read without the lock (a dry run, which writes nothing). */
  read<R>(read: PipelinedRead<R>): Promise<R> {
    return runRead(this.redis, read);
  }
}

// Every jump server the broker has written to, with the identity it wrote with (address, port, user,
// authorizedKeysPath), and what may still stand on it. Read at start-up: a server that left the policy or
// changed while it holds lines stops the start (domain/retirement.ts).
import type { Redis } from 'ioredis';
import type { JumpHostIdentity, RecordedJumpHost } from '../domain/retirement.ts';
import { redisKeys, type RedisKeys } from './redis-keys.ts';

export class JumpHostRegistry {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  /** Before a write: the identity the broker is about to write with (written only when it differs). */
  async record(name: string, identity: JumpHostIdentity): Promise<void> {
    const value = JSON.stringify(identity);
    if ((await this.redis.hget(this.keys.jumpHostRegistry, name)) !== value) await this.redis.hset(this.keys.jumpHostRegistry, name, value);
  }

  /** Every recorded jump server, with its lines and grants as the store knows them. */
  async recorded(): Promise<RecordedJumpHost[]> {
    const all = await this.redis.hgetall(this.keys.jumpHostRegistry);
    const names = Object.keys(all).sort();
    if (names.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const name of names) pipe.scard(this.keys.renderedLines(name)).zcard(this.keys.activeGrants(name)).zcard(this.keys.endedGrants(name));
    const counts = ((await pipe.exec()) ?? []).map(([err, n]) => {
      if (err) throw err;
      return Number(n);
    });
    return names.map((name, i) => ({
      name,
      identity: JSON.parse(all[name]!) as JumpHostIdentity,
      lines: counts[3 * i]!,
      activeGrants: counts[3 * i + 1]!,
      endedGrants: counts[3 * i + 2]!,
    }));
  }

  /** Drops the record: true for the one caller that dropped it (one log or audit line across replicas). */
  async forget(name: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.jumpHostRegistry, name)) === 1;
  }
}

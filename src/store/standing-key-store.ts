// The keys that stand in each jump account's authorized_keys outside the managed block, as the last sync of
// that jump server read them: `/jump key add` refuses them (they have access jit-jump does not govern), and a
// grant for one of them is alerted once per key and jump server while it stands.
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from './redis-keys.ts';

export class StandingKeyStore {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  /** After a sync read the file: exactly these fingerprints stand outside the block; alerts of keys gone are forgotten. */
  async record(jumpHost: string, fingerprints: Iterable<string>): Promise<void> {
    const standing = [...fingerprints];
    const key = this.keys.standingKeys(jumpHost);
    const alerted = await this.redis.smembers(this.keys.standingKeyAlerts(jumpHost));
    const gone = alerted.filter((f) => !standing.includes(f));
    const tx = this.redis.multi().del(key);
    if (standing.length) tx.sadd(key, ...standing);
    if (gone.length) tx.srem(this.keys.standingKeyAlerts(jumpHost), ...gone);
    await tx.exec();
  }

  /** The fingerprints standing outside the block of this jump server, as its last sync read them. */
  async standingOn(jumpHost: string): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.keys.standingKeys(jumpHost)));
  }

  /** The jump servers (of `jumpHosts`) where this key stands outside the block. */
  async whereStanding(fingerprint: string, jumpHosts: readonly string[]): Promise<string[]> {
    if (jumpHosts.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const j of jumpHosts) pipe.sismember(this.keys.standingKeys(j), fingerprint);
    const results = (await pipe.exec()) ?? [];
    return jumpHosts.filter((_, i) => results[i]?.[1] === 1);
  }

  /** True for the first caller to alert this standing key on this jump server (across replicas). */
  async claimAlert(jumpHost: string, fingerprint: string): Promise<boolean> {
    return (await this.redis.sadd(this.keys.standingKeyAlerts(jumpHost), fingerprint)) === 1;
  }
}

// What the broker remembers about each jump server: which lines it wrote into the managed block (so a line it
// did not write is recognised as a hand edit), whether the server is currently unreachable (one alert
// per outage, across replicas), and which host key mismatches were alerted lately.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from './redis-keys.ts';

export function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('base64');
}

export class JumpHostState {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  async writtenLineHashes(jumpHost: string): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.keys.renderedLines(jumpHost)));
  }

  /** Recorded before the write: a crash after it leaves a hash too many, which only weakens detection. */
  async recordWritten(jumpHost: string, lines: readonly string[]): Promise<void> {
    if (lines.length) await this.redis.sadd(this.keys.renderedLines(jumpHost), ...lines.map(lineHash));
  }

  /** After a write: exactly the lines the block holds now. */
  async setWritten(jumpHost: string, lines: readonly string[]): Promise<void> {
    const key = this.keys.renderedLines(jumpHost);
    const tx = this.redis.multi().del(key);
    if (lines.length) tx.sadd(key, ...lines.map(lineHash));
    await tx.exec();
  }

  /** True for the first caller after the server went away. */
  async markDown(jumpHost: string, since: number): Promise<boolean> {
    return (await this.redis.set(this.keys.jumpHostDown(jumpHost), String(since), 'NX')) === 'OK';
  }

  /** True for the first caller to meet this presented host key within `quietMs` (one alert across replicas). */
  async claimHostKeyAlert(jumpHost: string, presented: string, quietMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.hostKeyAlert(jumpHost, presented), '1', 'PX', quietMs, 'NX')) === 'OK';
  }

  /** True for the first caller to meet this unrenderable grant (one alert per grant; forgotten after `ttlMs`). */
  async claimUnrenderableAlert(jumpHost: string, grantId: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.unrenderableAlert(jumpHost, grantId), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** True if the server had been marked down (the caller announces its return). */
  async markUp(jumpHost: string): Promise<boolean> {
    return (await this.redis.del(this.keys.jumpHostDown(jumpHost))) === 1;
  }
}

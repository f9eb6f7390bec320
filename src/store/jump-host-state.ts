// What the broker remembers about each jump server: which lines it wrote into the managed block (so a line it
// did not write is recognised as a hand edit), whether the server is currently unreachable (one alert
// per outage, across replicas), and which host key mismatches were alerted lately.
import * as crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { runRead, type PipelinedRead } from './pipelined-read.ts';
import { redisKeys, type RedisKeys } from './redis-keys.ts';

// One-shot crypto.hash (Node ≥ 20.12) is ~2.5× faster than a Hash object per line; a sync hashes every rendered
// line in three formats on every pass. Same digest either way.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

export function lineHash(line: string): string {
  return oneShot ? oneShot('sha256', line, 'base64') : crypto.createHash('sha256').update(line).digest('base64');
}

export class JumpHostState {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  writtenLineHashes(jumpHost: string): Promise<Set<string>> {
    return runRead(this.redis, this.writtenLineHashesRead(jumpHost));
  }

  /** The hashes of every line written to this block, as a read a sync sends beside its lock. */
  writtenLineHashesRead(jumpHost: string): PipelinedRead<Set<string>> {
    return { commands: 1, send: (pipe) => pipe.smembers(this.keys.renderedLines(jumpHost)), decode: ([hashes]) => new Set(hashes as string[]) };
  }

  /**
   * Recorded before the write: a crash after it leaves a hash too many, which only weakens detection.
   * `recorded` (writtenLineHashes read under the same sync lock) are left out: a pass that changes nothing sends nothing.
   */
  async recordWritten(jumpHost: string, lines: readonly string[], recorded?: ReadonlySet<string>): Promise<void> {
    const hashes = lines.map(lineHash).filter((h) => !recorded?.has(h));
    if (hashes.length) await this.redis.sadd(this.keys.renderedLines(jumpHost), ...hashes);
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

  /** The next fencing token for a write of this jump server's block, issued by the command that follows the
   *  taking of the sync lock. */
  nextGenerationRead(jumpHost: string): PipelinedRead<number> {
    return { commands: 1, send: (pipe) => pipe.incr(this.keys.blockGeneration(jumpHost)), decode: ([n]) => Number(n) };
  }

  /**
   * Moves the counter to at least `seen` (a generation found on the server: Redis was restored or flushed), so
   * the next token is higher. Not atomic, and needs not be: overshooting leaves a gap, which is harmless.
   */
  async raiseGeneration(jumpHost: string, seen: number): Promise<void> {
    const key = this.keys.blockGeneration(jumpHost);
    const current = Number((await this.redis.get(key)) ?? 0);
    if (seen > current) await this.redis.incrby(key, seen - current);
  }

  /** True if the server had been marked down (the caller announces its return). */
  async markUp(jumpHost: string): Promise<boolean> {
    return (await this.redis.del(this.keys.jumpHostDown(jumpHost))) === 1;
  }
}

// Retention of the audit trail in Redis: by age (policy audit.retention), run by the one replica that
// reconciles. And a warning when Redis runs out of memory before the retention period is over (then writes
// fail: refused, not silently dropped).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.ts';
import { AuditLog } from '../store/audit-log.ts';

/** Past this share of maxmemory, the audit stream's growth will stop every write before retention frees room. */
const MEMORY_WARN_SHARE = 0.8;
/** One memory warning a day is enough to be seen without flooding the log. */
const WARN_EVERY_MS = 86_400_000;

export class AuditRetention {
  private readonly log: AuditLog;
  private lastWarning = -Infinity;

  constructor(
    private readonly d: { redis: Redis; redisPrefix?: string; retentionMs: () => number; clock: Clock; logger: Logger },
  ) {
    this.log = new AuditLog(d.redis, d.redisPrefix);
  }

  async trim(): Promise<void> {
    const now = this.d.clock.now();
    const dropped = await this.log.trim(this.d.retentionMs(), now);
    if (dropped > 0) this.d.logger.info({ dropped }, `audit: ${dropped} event(s) older than the retention (audit.retention) left Redis`);
    await this.warnAboutMemory(now);
  }

  private async warnAboutMemory(now: number): Promise<void> {
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    const info = await this.d.redis.info('memory').catch(() => '');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    const used = field('used_memory');
    const max = field('maxmemory');
    // (An evicting maxmemory-policy is warned about once at start, with the other Redis settings.)
    if (max > 0 && used / max > MEMORY_WARN_SHARE) {
      this.lastWarning = now;
      const streamBytes = await this.d.redis.call('MEMORY', 'USAGE', this.log.streamKey, 'SAMPLES', '0').catch(() => null);
      this.d.logger.warn(
        { usedBytes: used, maxBytes: max, auditStreamBytes: streamBytes },
        `audit: Redis uses ${Math.round((100 * used) / max)}% of maxmemory: before audit.retention frees room, writes will be refused; raise maxmemory, or shorten audit.retention after exporting (jit-jump audit export)`,
      );
    }
  }
}

// Posts the audit stream to the audit channel and the log. Events were appended to the stream atomically with
// the change they describe, so a crash between the change and the post loses nothing: a consumer group
// delivers each event to one replica, and entries left unacknowledged by a dead replica are claimed again.
// A claimed entry may still be being posted by a slow (not dead) replica, or posted by one that died before
// acknowledging it: a per-entry delivery marker in Redis ("posting" with a lease, then "posted") keeps the
// post to one, except for a replica killed in the instant between Slack's answer and the marker.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditEvent } from '../domain/audit-event.ts';
import { isRedisConnectionError } from '../store/redis-connection.ts';

/** Where audit events go (the audit channel); it words them. Declared here so audit depends on no adapter. */
export interface AuditPoster {
  /** `auditId`: the stream entry id, unique per event (posted as metadata, so a repeat can be recognised) */
  postAudit(event: AuditEvent, auditId: string): Promise<void>;
  /** Whether this entry is in the audit channel already (a replica died after posting it, before marking it). */
  alreadyPosted?(event: AuditEvent, auditId: string): Promise<boolean>;
}

const GROUP = 'audit-forwarder';

/** A post Slack refused or that did not get through: logged where it happened, the entry stays pending. */
class PostFailed extends Error {}

export class AuditForwarder {
  private running = false;
  /** posted by this process but not yet marked and acknowledged (Redis went away in between) */
  private readonly postedHere = new Set<string>();
  private loop?: Promise<void>;

  constructor(
    private readonly deps: {
      /** a dedicated connection: XREADGROUP BLOCK holds it */
      redis: Redis;
      stream: string;
      consumer: string;
      poster: AuditPoster;
      logger: Logger;
      blockMs?: number;
      /** how long new events wait before they are posted (the work that made them goes first) */
      settleMs?: number;
      claimIdleMs?: number;
      /** the delivery marker of a stream entry */
      deliveryKey: (streamId: string) => string;
      /** told of each event as it is posted (metrics) */
      observe?: (event: AuditEvent) => void;
    },
  ) {}

  async start(): Promise<void> {
    try {
      await this.deps.redis.xgroup('CREATE', this.deps.stream, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { redis, stream, consumer, logger } = this.deps;
    let lastClaim = 0;
    while (this.running) {
      try {
        if (Date.now() - lastClaim > 5_000) {
          lastClaim = Date.now();
          // Entries another replica read but never acknowledged (it died): take them over.
          const [, claimed] = (await redis.xautoclaim(stream, GROUP, consumer, this.deps.claimIdleMs ?? 30_000, '0-0', 'COUNT', 100)) as [
            string,
            [string, string[]][],
          ];
          await this.deliver(claimed, true);
          // Our own entries from before a restart with the same consumer name.
          const own = (await redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 100, 'STREAMS', stream, '0')) as
            | [string, [string, string[]][]][]
            | null;
          await this.deliver(own?.[0]?.[1] ?? [], true);
        }
        const res = (await redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 50, 'BLOCK', this.deps.blockMs ?? 1000, 'STREAMS', stream, '>')) as
          | [string, [string, string[]][]][]
          | null;
        const fresh = res?.[0]?.[1] ?? [];
        // The change an event records has its own follow-up running now (an approval's key line): posting can
        // wait a moment and let that go first, on the same process.
        if (fresh.length) await new Promise((r) => setTimeout(r, this.deps.settleMs ?? 25));
        await this.deliver(fresh, false);
      } catch (err) {
        if (!this.running) break;
        if (!(err instanceof PostFailed)) logger[isRedisConnectionError(err) ? 'debug' : 'warn']({ err }, 'audit forwarder: read failed, retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** `redelivered`: read before, by this or another replica, which may have posted it and died before marking it. */
  private async deliver(entries: [string, string[]][], redelivered: boolean): Promise<void> {
    const { redis, stream, consumer, deliveryKey } = this.deps;
    // Longer than any post: a slow replica keeps its entry even after another claimed it.
    const leaseMs = Math.max(10_000, 2 * (this.deps.claimIdleMs ?? 30_000));
    const done = async (id: string) => {
      await redis.multi().set(deliveryKey(id), 'posted', 'EX', 86_400).xack(stream, GROUP, id).exec();
      this.postedHere.delete(id);
    };
    for (const [id, fields] of entries) {
      if (!fields) continue;
      if (this.postedHere.has(id)) {
        await done(id);
        continue;
      }
      const json = fields[fields.indexOf('e') + 1];
      let event: AuditEvent | undefined;
      try {
        event = json ? (JSON.parse(json) as AuditEvent) : undefined;
      } catch {
        event = undefined;
      }
      // Each post carries its place in the hash chain: every audit-channel message is a checkpoint outside Redis.
      const seq = Number(fields[fields.indexOf('seq') + 1]);
      const hash = fields[fields.indexOf('hash') + 1];
      if (event && fields.includes('seq') && Number.isInteger(seq) && hash) event = { ...event, chain: { seq, hash } };
      const marker = deliveryKey(id);
      if ((await redis.set(marker, `posting ${consumer}`, 'PX', leaseMs, 'NX')) !== 'OK') {
        // Posted already (its poster died before acknowledging): just acknowledge. Being posted: leave it.
        if ((await redis.get(marker)) === 'posted') await redis.xack(stream, GROUP, id);
        continue;
      }
      if (event) {
        this.deps.logger.info({ audit: event, streamId: id }, `audit: ${event.type}`);
        this.deps.observe?.(event);
        try {
          if (!redelivered || !(await this.deps.poster.alreadyPosted?.(event, id))) await this.deps.poster.postAudit(event, id);
          this.postedHere.add(id);
        } catch (err) {
          // Not acknowledged: posted again on a later read.
          await redis.del(marker);
          this.deps.logger.warn({ err, streamId: id, type: event.type }, 'audit: could not post to Slack; the event stays in the stream and is posted on a later try');
          throw new PostFailed(String(err));
        }
      }
      await done(id);
    }
  }

  /** Ends the loop and QUITs its connection: Redis answers the QUIT once the current blocking read returns. */
  async stop(): Promise<void> {
    this.running = false;
    await this.deps.redis.quit().catch(() => this.deps.redis.disconnect());
    await this.loop;
  }
}

/**
 * Audit events not yet posted: entries no replica has read yet (the group's lag) plus those read and not
 * acknowledged. Read on a commands connection, never on the forwarder's blocking one.
 */
export async function auditBacklog(redis: Redis, stream: string): Promise<number> {
  const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  for (const g of groups) {
    const f = new Map<string, unknown>();
    for (let i = 0; i + 1 < g.length; i += 2) f.set(String(g[i]), g[i + 1]);
    if (f.get('name') !== GROUP) continue;
    // lag is null when Redis cannot tell (entries deleted in between): count what is pending then.
    return Number(f.get('pending') ?? 0) + Number(f.get('lag') ?? 0);
  }
  return 0;
}

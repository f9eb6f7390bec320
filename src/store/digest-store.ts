// What the daily digest reads and the claim that keeps it to one post per local date across replicas.
// The claim (lua/claim-digest.lua, lua/digest-posted.lua): claim the date and take a lease → post → mark it
// posted. A replica dying anywhere in between leaves the date claimed with a lapsing lease; the next run
// (a BullMQ retry or a stalled job taken over) finds "claimed", looks in the audit channel for that date's
// digest and posts only if it is not there. A retried or duplicated job of a posted date does nothing.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Checkpoint } from '../domain/audit-chain.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { AuditLog } from './audit-log.ts';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { RequestStore } from './request-store.ts';
import { runScript } from './scripts.ts';

/** fresh: never started; retry: started by a run that did not finish (look before posting); busy: another run holds it. */
export type DigestClaim = { status: 'fresh' | 'retry'; token: string } | { status: 'busy' } | { status: 'posted' };

/** A date's marker outlives the date by far: a late retry of it still finds "posted". */
const KEEP_MS = 7 * 86_400_000;
/** The grants the digest reads for each of these events. */
const GRANT_EVENTS = new Set<AuditEvent['type']>(['activated', 'extended', 'expired', 'revoked', 'connection', 'session-ended']);

export class DigestStore {
  private readonly keys: RedisKeys;
  private readonly log: AuditLog;
  private readonly requests: RequestStore;

  constructor(
    private readonly redis: Redis,
    prefix?: string,
  ) {
    this.keys = redisKeys(prefix);
    this.log = new AuditLog(redis, prefix);
    this.requests = new RequestStore(redis, prefix);
  }

  async claim(date: string, leaseMs: number): Promise<DigestClaim> {
    const token = randomBytes(8).toString('hex');
    const r = await runScript(this.redis, 'claim-digest', { day: this.keys.digestDay(date), lease: this.keys.digestLease(date) }, { token, leaseMs, keepMs: KEEP_MS });
    return r.status === 'fresh' || r.status === 'retry' ? { status: r.status, token } : r.status === 'busy' ? { status: 'busy' } : { status: 'posted' };
  }

  /** The date's digest is in Slack, covering up to `until`: the next window starts there. */
  async posted(date: string, token: string, until: number): Promise<void> {
    await runScript(
      this.redis,
      'digest-posted',
      { day: this.keys.digestDay(date), lease: this.keys.digestLease(date), windowEnd: this.keys.digestWindowEnd },
      { token, keepMs: KEEP_MS, upTo: Math.floor(until) },
    );
  }

  /** Lets a failed run's lease go at once (the date stays claimed: the next run looks before posting). */
  async release(date: string, token: string): Promise<void> {
    await runScript(this.redis, 'release-lock', { lock: this.keys.digestLease(date) }, { token });
  }

  /** Where the last posted digest's window ended; undefined before the first. */
  async lastWindowEnd(): Promise<number | undefined> {
    const v = await this.redis.get(this.keys.digestWindowEnd);
    return v === null ? undefined : Number(v);
  }

  /** Everything the digest summarises from Redis for [since, until]. */
  async read(since: number, until: number, jumpHosts: readonly string[]): Promise<{ events: AuditEvent[]; grants: AccessRequest[]; unacknowledged: AccessRequest[]; chainHead?: Checkpoint }> {
    const events = (await this.log.list(since, until)).map((s) => s.event);
    const named = events.filter((e) => GRANT_EVENTS.has(e.type) && e.requestId).map((e) => e.requestId!);
    const active = (await Promise.all(jumpHosts.map((jh) => this.requests.activeGrantIds(jh, until)))).flat();
    const grants = await this.requests.getMany([...new Set([...named, ...active])]);
    const unacknowledged = await this.requests.getMany(await this.redis.zrange(this.keys.breakGlassReviews, '0', '-1'));
    const head = await this.log.head();
    return { events, grants, unacknowledged, ...(head ? { chainHead: { seq: head.seq, hash: head.hash } } : {}) };
  }
}

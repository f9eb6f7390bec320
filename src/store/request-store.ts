// Requests, grants and their transitions in Redis. Transitions are atomic Lua scripts (scripts.ts).
import type { Redis } from 'ioredis';
import type { AuditEvent } from '../domain/audit-event.ts';
import { statesLeadingTo, type AccessRequest, type MessageRef, type RequestState } from '../domain/request-state.ts';
import { ok, ok0, refuse } from '../domain/result.ts';
import type { ApprovalResult, CreateResult, TransitionResult } from '../domain/store-results.ts';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { RedisLock } from './redis-lock.ts';
import { APPROVE, CREATE_CAPPED, TRANSITION } from './scripts.ts';

const NUMBER_FIELDS = ['durationMs', 'createdAt', 'requiredApprovals', 'activatedAt', 'expiresAt', 'endedAt'] as const;

function toHash(req: AccessRequest): Record<string, string> {
  const hash: Record<string, string> = {};
  for (const [k, v] of Object.entries(req)) {
    if (v === undefined) continue;
    hash[k] = k === 'approvers' ? JSON.stringify(v) : String(v);
  }
  return hash;
}

function fromHash(hash: Record<string, string>): AccessRequest | undefined {
  if (!hash.id) return undefined;
  const req: Record<string, unknown> = { ...hash, approvers: JSON.parse(hash.approvers ?? '[]') };
  for (const f of NUMBER_FIELDS) if (hash[f] !== undefined) req[f] = Number(hash[f]);
  delete req.approvedAt;
  return req as unknown as AccessRequest;
}

const conflict = (id: string, state: RequestState) => ({ ...refuse('conflict', `request ${id} is ${state}`), state });

export class RequestStore {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  async create(req: AccessRequest, event: AuditEvent): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.request(req.id), toHash(req))
      .zadd(this.keys.userRequests(req.requester), req.createdAt, req.id)
      .zadd(this.keys.pendingRequests, req.createdAt, req.id)
      .xadd(this.keys.auditStream, 'MAXLEN', '~', '1000000', '*', 'e', JSON.stringify(event), 'from', '')
      .exec();
  }

  /**
   * Creates the request unless its requester already has `maxPending` pending among their latest `scan`
   * requests; the check and the write are one atomic step.
   */
  async createWithinCap(req: AccessRequest, event: AuditEvent, maxPending: number, scan = 200): Promise<CreateResult> {
    const pairs = Object.entries(toHash(req)).flat();
    const r = (await this.redis.eval(
      CREATE_CAPPED,
      4,
      this.keys.request(req.id),
      this.keys.userRequests(req.requester),
      this.keys.auditStream,
      this.keys.pendingRequests,
      String(maxPending),
      String(scan),
      this.keys.request(''),
      String(req.createdAt),
      req.id,
      JSON.stringify(event),
      ...pairs,
    )) as string[];
    if (r[0] === 'ok') return ok0();
    return { ...refuse('too-many-pending', `${r[1]} request(s) pending`), pending: Number(r[1]) };
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    return fromHash(await this.redis.hgetall(this.keys.request(id)));
  }

  async getMany(ids: readonly string[]): Promise<AccessRequest[]> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.keys.request(id));
    const results = (await pipe.exec()) ?? [];
    return results.map(([, h]) => fromHash(h as Record<string, string>)).filter((r): r is AccessRequest => r !== undefined);
  }

  async addMessageRefs(id: string, refs: readonly MessageRef[]): Promise<void> {
    if (refs.length === 0) return;
    await this.redis.rpush(this.keys.requestMessages(id), ...refs.map((r) => JSON.stringify(r)));
  }

  async messageRefs(id: string): Promise<MessageRef[]> {
    return (await this.redis.lrange(this.keys.requestMessages(id), 0, -1)).map((s) => JSON.parse(s) as MessageRef);
  }

  /** Records an owner's approval; the last required one activates the grant atomically. */
  async approve(req: AccessRequest, approver: string, now: number): Promise<ApprovalResult> {
    const base = { at: now, actor: approver, requestId: req.id, requester: req.requester, host: req.host };
    const result = (await this.redis.eval(
      APPROVE,
      5,
      this.keys.request(req.id),
      this.keys.auditStream,
      this.keys.activeGrants(req.jumpHost),
      this.keys.pendingRequests,
      this.keys.activating,
      approver,
      String(now),
      JSON.stringify({ ...base, type: 'approval-recorded' } satisfies AuditEvent),
      JSON.stringify({ ...base, type: 'approved' } satisfies AuditEvent),
      JSON.stringify({ ...base, type: 'activated', durationMs: req.durationMs } satisfies AuditEvent),
    )) as string[];
    switch (result[0]) {
      case 'recorded':
        return ok({ activated: false, approvals: Number(result[1]) });
      case 'activated':
        return ok({ activated: true, expiresAt: Number(result[1]) });
      case 'conflict':
        return conflict(req.id, result[1] as RequestState);
      case 'self':
        return refuse('self-approval', `${approver} requested ${req.id}`);
      case 'duplicate':
        return refuse('already-approved', `${approver} already approved ${req.id}`);
      default:
        return refuse('not-found', `no request ${req.id}`);
    }
  }

  /**
   * Moves a request to `to` if its current state allows it (checked atomically), sets `fields`,
   * keeps the active-grants index in step and appends the audit event.
   */
  async transition(
    req: Pick<AccessRequest, 'id' | 'jumpHost'>,
    to: RequestState,
    event: AuditEvent,
    fields: Record<string, string | number> = {},
  ): Promise<TransitionResult> {
    const activeOp = to === 'active' ? 'add' : ['expired', 'revoked', 'failed'].includes(to) ? 'rem' : '-';
    const score = to === 'active' ? String(fields.expiresAt ?? 0) : String(fields.endedAt ?? event.at);
    const pairs = Object.entries(fields).flatMap(([k, v]) => [k, String(v)]);
    const result = (await this.redis.eval(
      TRANSITION,
      6,
      this.keys.request(req.id),
      this.keys.auditStream,
      this.keys.activeGrants(req.jumpHost),
      this.keys.endedGrants(req.jumpHost),
      this.keys.pendingRequests,
      this.keys.activating,
      statesLeadingTo(to).join(','),
      to,
      JSON.stringify(event),
      activeOp,
      score,
      ...pairs,
    )) as string[];
    if (result[0] === 'ok') return ok({ from: result[1] as RequestState });
    if (result[0] === 'conflict') return conflict(req.id, result[1] as RequestState);
    return refuse('not-found', `no request ${req.id}`);
  }

  /** Ids of grants on this jump host that have not expired at `now` (late revoke jobs do not count). */
  async activeGrantIds(jumpHost: string, now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.activeGrants(jumpHost), `(${now}`, '+inf');
  }

  /** Grants whose expiry has passed but that are still indexed as active: their revoke job is late or lost. */
  async overdueGrantIds(jumpHost: string, now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.activeGrants(jumpHost), '-inf', now);
  }

  async nextExpiry(jumpHost: string, now: number): Promise<number | undefined> {
    const [, score] = await this.redis.zrangebyscore(this.keys.activeGrants(jumpHost), `(${now}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
    return score === undefined ? undefined : Number(score);
  }

  /** Ids of requests still undecided that were made at or before `createdBefore`. */
  async pendingCreatedBefore(createdBefore: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pendingRequests, '-inf', createdBefore);
  }

  /** Grants activated at or before `before` whose follow-up (jobs, connect instructions) is still owed. */
  async activationsOwed(before = Number.POSITIVE_INFINITY): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.activating, '-inf', Number.isFinite(before) ? String(before) : '+inf');
  }

  /**
   * Runs `fn` (a grant's activation follow-up) holding its lease, if the follow-up is still owed and nobody
   * else runs it: true if it ran. The lease is renewed while `fn` runs, so only a holder that died loses it.
   */
  async withActivationLease(id: string, leaseMs: number, fn: () => Promise<void>): Promise<boolean> {
    const ran = await new RedisLock(this.redis, { leaseMs }).tryWith(this.keys.activationLease(id), async () => {
      // Checked under the lease: the previous holder un-owes it before letting go of the lease.
      if ((await this.redis.zscore(this.keys.activating, id)) === null) return false;
      await fn();
      return true;
    });
    return ran === true;
  }

  /** Counts attempts at sending a grant's activation message: more than 1 means an earlier one may have sent it. */
  async activationMessageAttempt(id: string): Promise<number> {
    return this.redis.hincrby(this.keys.request(id), 'activationMessageAttempts', 1);
  }

  /** The follow-up is done: nobody owes it any more. */
  async finishActivation(id: string): Promise<void> {
    await this.redis.zrem(this.keys.activating, id);
  }

  /** Grants that left `active` on this jump host since its last successful sync (their line may still stand). */
  async endedGrantIds(jumpHost: string): Promise<string[]> {
    return this.redis.zrange(this.keys.endedGrants(jumpHost), '0', '-1');
  }

  /** A sync that read the store at `renderedAt` took out the lines of every grant that had ended by then. */
  async forgetEndedBefore(jumpHost: string, renderedAt: number): Promise<void> {
    await this.redis.zremrangebyscore(this.keys.endedGrants(jumpHost), '-inf', renderedAt);
  }

  async recordReconcile(at: number): Promise<void> {
    await this.redis.set(this.keys.lastReconcile, String(at));
  }

  async lastReconcile(): Promise<number | undefined> {
    const v = await this.redis.get(this.keys.lastReconcile);
    return v === null ? undefined : Number(v);
  }

  /** An audit event that goes with no state change (a refused action, an alert). */
  async appendAudit(event: AuditEvent): Promise<void> {
    await this.redis.xadd(this.keys.auditStream, 'MAXLEN', '~', '1000000', '*', 'e', JSON.stringify(event), 'from', '');
  }

  async recentForUser(user: string, limit = 20): Promise<AccessRequest[]> {
    const ids = await this.redis.zrevrange(this.keys.userRequests(user), 0, limit - 1);
    return this.getMany(ids);
  }
}

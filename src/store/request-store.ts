// Requests, grants and their transitions in Redis. Transitions are atomic Lua scripts (scripts.ts, lua/), whose
// guards come from the state table (domain/request-state.ts).
import type { Redis } from 'ioredis';
import { canonicalJson } from '../domain/audit-chain.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import {
  ACTIVE_STATE,
  auditEventsInto,
  EXTENDED_STATE,
  INITIAL_STATE,
  statesLeadingTo,
  type AccessRequest,
  type MessageRef,
  type RequestState,
} from '../domain/request-state.ts';
import { ok, ok0, refuse } from '../domain/result.ts';
import type { AcknowledgeResult, ApprovalResult, ApprovalRules, CreateResult, ExtensionResult, HeldLease, TransitionResult } from '../domain/store-results.ts';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { RedisLock, type Lease, type TakenLock } from './redis-lock.ts';
import { runRead, type PipelinedRead } from './pipelined-read.ts';
import { decodeReply, runScript, sendScript, type ScriptReply } from './scripts.ts';

/**
 * An activation follow-up (jobs, sync with its retries, one Slack message) takes seconds; one still running
 * after this many leases waits on something that will not answer, and gives its lease up.
 */
export const ACTIVATION_HOLD_LEASES = 5;

const NUMBER_FIELDS = ['durationMs', 'createdAt', 'requiredApprovals', 'activatedAt', 'expiresAt', 'endedAt', 'policyMaxMs', 'extendedMs', 'autoApproved', 'reviewBy', 'acknowledgedAt', 'approvedMs'] as const;

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
  delete req.approvedAt; // written by versions that still stored the approval time apart
  return req as unknown as AccessRequest;
}

/** What every event of an approval says; an auto-approved request says so in its decision and grant events. */
function approvalEventBase(req: AccessRequest, approver: string, at: number) {
  const how = req.autoApproved !== undefined ? { detail: `auto-approved (rule ${req.autoApproved})` } : {};
  return { at, actor: approver, requestId: req.id, requester: req.requester, host: req.host, ...how };
}

const conflict = (id: string, state: RequestState) => ({ ...refuse('conflict', `request ${id} is ${state}`), state });

/** What a sync renders from: the active grants, and their requesters' key lines by user. */
export interface RenderInputs {
  grants: AccessRequest[];
  keyLines: Map<string, string>;
}

/** What the activation follow-up reads under its lease. */
interface ActivationState {
  owed: boolean;
  req: AccessRequest | undefined;
}

export class RequestStore {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  async create(req: AccessRequest, event: AuditEvent): Promise<void> {
    await this.createScript(req, event, -1, 0);
  }

  /**
   * Creates the request unless its requester already has `maxPending` pending among their latest `scan`
   * requests; the check and the write are one atomic step.
   */
  async createWithinCap(req: AccessRequest, event: AuditEvent, maxPending: number, scan = 200): Promise<CreateResult> {
    const r = await this.createScript(req, event, maxPending, scan);
    if (r.status === 'ok') return ok0();
    return { ...refuse('too-many-pending', `${r.pending} request(s) pending`), pending: Number(r.pending) };
  }

  private createScript(req: AccessRequest, event: AuditEvent, maxPending: number, scan: number) {
    return runScript(
      this.redis,
      'create-request',
      {
        request: this.keys.request(req.id),
        userRequests: this.keys.userRequests(req.requester),
        auditStream: this.keys.auditStream,
        pendingRequests: this.keys.pendingRequests,
        reviews: this.keys.breakGlassReviews,
      },
      {
        maxPending,
        scan,
        requestKeyPrefix: this.keys.request(''),
        initialState: INITIAL_STATE,
        createdAt: req.createdAt,
        id: req.id,
        event: canonicalJson(event),
        reviewBy: req.reviewBy ?? '',
      },
      Object.entries(toHash(req)).flat(),
    );
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

  /**
   * What a sync renders from, in one round trip: the jump server's grants active after `now` (whole) and the key
   * line of each one's requester (by user; a person without a key has none).
   */
  async renderInputs(jumpHost: string, now: number): Promise<RenderInputs> {
    const { grants, keyLines } = await runRead(this.redis, this.renderInputsRead(jumpHost, () => now));
    return { grants, keyLines };
  }

  /**
   * What a sync renders from, as one read: the grants active after `now()` (taken when the read is sent) whole,
   * and their requesters' key lines (one script: render-inputs.lua).
   */
  renderInputsRead(jumpHost: string, now: () => number): PipelinedRead<RenderInputs & { renderedAt: number }> {
    let renderedAt = 0;
    return {
      commands: 1,
      send: (pipe) => {
        renderedAt = now();
        sendScript(pipe, 'render-inputs', { activeGrants: this.keys.activeGrants(jumpHost) }, { after: renderedAt, requestPrefix: this.keys.request(''), userKeyPrefix: this.keys.userKey('') });
      },
      decode: ([raw]) => {
        const { grants, lines } = JSON.parse(decodeReply('render-inputs', raw).json!) as { grants: string[][] | object; lines: string[] | object };
        // cjson writes an empty list as {}.
        const hashes = Array.isArray(grants) ? grants : [];
        const pairs = Array.isArray(lines) ? lines : [];
        const keyLines = new Map<string, string>();
        for (let i = 0; i + 1 < pairs.length; i += 2) keyLines.set(pairs[i]!, pairs[i + 1]!);
        const toObject = (flat: string[]) => {
          const o: Record<string, string> = {};
          for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
          return o;
        };
        return { grants: hashes.map((h) => fromHash(toObject(h))).filter((g): g is AccessRequest => g !== undefined), keyLines, renderedAt };
      },
    };
  }

  async addMessageRefs(id: string, refs: readonly MessageRef[]): Promise<void> {
    if (refs.length === 0) return;
    await this.redis.rpush(this.keys.requestMessages(id), ...refs.map((r) => JSON.stringify(r)));
  }

  async messageRefs(id: string): Promise<MessageRef[]> {
    return (await this.redis.lrange(this.keys.requestMessages(id), 0, -1)).map((s) => JSON.parse(s) as MessageRef);
  }

  /**
   * Records an owner's approval if the current `rules` allow it; the last required one activates the grant
   * atomically. `activationLeaseMs`: the activation lease is tried right behind the script (same connection, so
   * Redis runs it after): an activation comes back holding it (`lease`), with no round trip of its own.
   */
  async approve(req: AccessRequest, approver: string, now: number, rules: ApprovalRules, approvedMs?: number, activationLeaseMs?: number): Promise<ApprovalResult> {
    const base = approvalEventBase(req, approver, now);
    // The state table names the events of activation: the decision, then the grant.
    const [approvedType, activatedType] = auditEventsInto(ACTIVE_STATE) ?? [];
    const [, extendedType] = auditEventsInto(EXTENDED_STATE) ?? [];
    if (!approvedType || !activatedType || !extendedType) throw new Error('the state table names no decision and grant events for activation and extension');
    // An extension's grant: its own event (requestId = the grant), naming the extension that moved its end (expiresAt: 0, see approve.lua).
    const grantEvent: AuditEvent = { ...base, type: extendedType, requestId: req.extends ?? req.id, durationMs: req.durationMs, expiresAt: 0, detail: `extension ${req.id}` };
    const approving = runScript(
      this.redis,
      'approve',
      {
        request: this.keys.request(req.id),
        auditStream: this.keys.auditStream,
        activeGrants: this.keys.activeGrants(req.jumpHost),
        pendingRequests: this.keys.pendingRequests,
        activating: this.keys.activating,
        grant: this.keys.request(req.extends ?? req.id),
      },
      {
        approver,
        now,
        allowedFrom: statesLeadingTo(ACTIVE_STATE).join(','),
        activeState: ACTIVE_STATE,
        recordedEvent: canonicalJson({ ...base, type: 'approval-recorded' } satisfies AuditEvent),
        // An auto-approval is its own event type, so an export tells it from an owner's decision at a glance.
        approvedEvent: canonicalJson({ ...base, type: req.autoApproved !== undefined ? 'auto-approved' : approvedType } satisfies AuditEvent),
        activatedEvent: canonicalJson({ ...base, type: activatedType, durationMs: req.durationMs, expiresAt: 0 } satisfies AuditEvent),
        // approvalTimeoutMs, maxDurationMs, requiredApprovals, maxTotalMs
        ...rules,
        extendedState: EXTENDED_STATE,
        extendedEvent: canonicalJson(grantEvent),
        approvedMs: approvedMs ?? '',
      },
    );
    const leasing = activationLeaseMs === undefined ? undefined : this.activationLock(activationLeaseMs).tryTake(this.keys.activationLease(req.id), this.activationRead(req.id)).catch(() => undefined);
    const r = await approving.catch(async (err: unknown) => {
      (await leasing)?.release();
      throw err;
    });
    const lease = await leasing;
    if (r.status !== 'activated') lease?.release();
    return approvalResult(req, approver, rules, r, lease);
  }

  /**
   * Moves a request to `to` if its current state allows it (checked atomically against the state table), sets
   * `fields`, keeps the indexes in step and appends the audit event. Activation goes through approve().
   */
  async transition(
    req: Pick<AccessRequest, 'id' | 'jumpHost'>,
    to: RequestState,
    event: AuditEvent,
    fields: Record<string, string | number> = {},
    guard: { expiresAt?: number } = {},
  ): Promise<TransitionResult> {
    // Programming errors, not user input: the table says what each move records.
    if (to === ACTIVE_STATE) throw new Error('a grant becomes active only through its last approval (approve())');
    const audit = auditEventsInto(to);
    if (audit?.length !== 1 || audit[0] !== event.type) throw new Error(`a move to ${to} records ${audit?.join(' + ') ?? 'nothing'}, not ${event.type}`);
    const r = await runScript(
      this.redis,
      'transition',
      {
        request: this.keys.request(req.id),
        auditStream: this.keys.auditStream,
        activeGrants: this.keys.activeGrants(req.jumpHost),
        endedGrants: this.keys.endedGrants(req.jumpHost),
        pendingRequests: this.keys.pendingRequests,
      },
      {
        allowedFrom: statesLeadingTo(to).join(','),
        to,
        initialState: INITIAL_STATE,
        activeState: ACTIVE_STATE,
        event: canonicalJson(event),
        endedAt: fields.endedAt ?? event.at,
        endsAt: guard.expiresAt ?? '',
      },
      Object.entries(fields).flatMap(([k, v]) => [k, String(v)]),
    );
    if (r.status === 'ok') return ok({ from: r.from as RequestState });
    if (r.status === 'not-due') return { ...refuse('not-due', `${req.id} now ends at ${r.expiresAt}`), expiresAt: Number(r.expiresAt) };
    if (r.status === 'conflict') return conflict(req.id, r.state as RequestState);
    return refuse('not-found', `no request ${req.id}`);
  }

  /**
   * The requester asks to extend `grant` by `extension.durationMs` (checked atomically: still active, not past its
   * end, within maxTotalMs, no other extension waiting). Within selfExtendMs its end moves at once (`extended`);
   * otherwise `extension` is stored as an undecided request for the owners.
   */
  async askExtension(
    grant: AccessRequest,
    extension: AccessRequest,
    events: { extended: AuditEvent; requested: AuditEvent },
    limits: { now: number; maxTotalMs: number; selfExtendMs: number },
  ): Promise<ExtensionResult> {
    const r = await runScript(
      this.redis,
      'ask-extension',
      {
        grant: this.keys.request(grant.id),
        extension: this.keys.request(extension.id),
        userRequests: this.keys.userRequests(grant.requester),
        auditStream: this.keys.auditStream,
        pendingRequests: this.keys.pendingRequests,
        activeGrants: this.keys.activeGrants(grant.jumpHost),
      },
      {
        now: limits.now,
        requester: extension.requester,
        durationMs: extension.durationMs,
        maxTotalMs: limits.maxTotalMs,
        selfExtendMs: limits.selfExtendMs,
        activeState: ACTIVE_STATE,
        initialState: INITIAL_STATE,
        requestKeyPrefix: this.keys.request(''),
        // its expiresAt: 0, a placeholder the script sets in place (auditWithNumber)
        extendedEvent: canonicalJson({ ...events.extended, expiresAt: 0 }),
        requestedEvent: canonicalJson(events.requested),
      },
      Object.entries(toHash(extension)).flat(),
    );
    switch (r.status) {
      case 'self-extended':
        return ok({ extended: true, expiresAt: Number(r.expiresAt) });
      case 'asked':
        return ok({ extended: false });
      case 'waiting':
        return { ...refuse('waiting', `extension ${r.extensionId} of ${grant.id} waits`), extensionId: r.extensionId };
      case 'grant-ended':
        return { ...refuse('grant-ended', `grant ${grant.id} is ${r.state}`), grantState: r.state as RequestState };
      case 'over-total':
        return { ...refuse('over-total', `grant ${grant.id} would last ${r.totalMs} ms`), totalMs: Number(r.totalMs) };
      default:
        return refuse('not-found', `no grant ${grant.id} of ${extension.requester}`);
    }
  }

  /** An owner acknowledges a break-glass grant, once (atomic, audited): who had, if someone was first. */
  async acknowledge(req: Pick<AccessRequest, 'id'>, actor: string, now: number, event: AuditEvent): Promise<AcknowledgeResult> {
    const r = await runScript(
      this.redis,
      'acknowledge',
      { request: this.keys.request(req.id), reviews: this.keys.breakGlassReviews, auditStream: this.keys.auditStream },
      { actor, now, event: canonicalJson(event) },
    );
    if (r.status === 'ok') return ok0();
    if (r.status === 'already') return { ...refuse('already', `acknowledged by ${r.acknowledgedBy}`), by: r.acknowledgedBy };
    return refuse(r.status === 'missing' ? 'not-found' : 'not-break-glass', `${req.id}: ${r.status}`);
  }

  /** Break-glass grants whose review was due at or before `now` and that no owner has acknowledged. */
  async overdueReviews(now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.breakGlassReviews, '-inf', now);
  }

  /** Ids of grants on this jump host that have not expired at `now` (late revoke jobs do not count). */
  async activeGrantIds(jumpHost: string, now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.activeGrants(jumpHost), `(${now}`, '+inf');
  }

  /** The host of each active grant on a jump server (the metrics' count per host): one field each, not the hash. */
  async activeGrantHosts(jumpHost: string, now: number): Promise<string[]> {
    const ids = await this.activeGrantIds(jumpHost, now);
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hget(this.keys.request(id), 'host');
    return ((await pipe.exec()) ?? []).flatMap(([, h]) => (typeof h === 'string' ? [h] : []));
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
  async pendingIds(): Promise<string[]> {
    return this.pendingCreatedBefore(Number.MAX_SAFE_INTEGER);
  }

  async pendingCreatedBefore(createdBefore: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pendingRequests, '-inf', createdBefore);
  }

  /** Grants activated at or before `before` whose follow-up (jobs, connect instructions) is still owed. */
  async activationsOwed(before = Number.POSITIVE_INFINITY): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.activating, '-inf', Number.isFinite(before) ? String(before) : '+inf');
  }

  /**
   * Runs `fn` (a grant's activation follow-up) holding its lease, if the follow-up is still owed and nobody
   * else runs it: true if it ran. The lease is renewed while `fn` runs, so a holder that died loses it, and
   * so does one whose `fn` has run for ACTIVATION_HOLD_LEASES leases: this then rejects (LockHeldTooLongError),
   * the follow-up stays owed for the reconciler, and `fn`'s lease.check() throws from then on.
   */
  async withActivationLease(id: string, leaseMs: number, fn: (lease: Lease, req: AccessRequest | undefined) => Promise<void>, held?: HeldLease): Promise<boolean> {
    const body = async (lease: Lease, { owed, req }: ActivationState): Promise<boolean> => {
      if (!owed) return false;
      await fn(lease, req);
      return true;
    };
    // Taken beside the approval: if Redis ran it before the approval landed (it reads not owed), try again.
    if (held && (await (held as TakenLock<ActivationState>).run(body))) return true;
    const ran = await this.activationLock(leaseMs).tryWithRead(this.keys.activationLease(id), this.activationRead(id), body);
    return ran === true;
  }

  private activationLock(leaseMs: number): RedisLock {
    return new RedisLock(this.redis, { leaseMs, maxHoldMs: ACTIVATION_HOLD_LEASES * leaseMs });
  }

  /**
   * Read under the activation lease, right after taking it (same round trip): whether the follow-up is still owed
   * (the previous holder un-owes it before letting go), and the request, which the follow-up needs next.
   */
  private activationRead(id: string): PipelinedRead<ActivationState> {
    return {
      commands: 2,
      send: (pipe) => pipe.zscore(this.keys.activating, id).hgetall(this.keys.request(id)),
      decode: ([owed, fields]) => ({ owed: owed !== null, req: fromHash(fields as Record<string, string>) }),
    };
  }

  /** Counts attempts at sending a grant's activation message: more than 1 means an earlier one may have sent it. */
  async activationMessageAttempt(id: string): Promise<number> {
    return this.redis.hincrby(this.keys.request(id), 'activationMessageAttempts', 1);
  }

  /** The follow-up is done: nobody owes it any more. */
  async finishActivation(id: string): Promise<void> {
    await this.redis.zrem(this.keys.activating, id);
  }

  /** True for the first caller to claim this reminder of the request (across replicas). */
  async claimReminder(id: string, what: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.reminderClaim(id, what), '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
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
    await runScript(this.redis, 'append-audit', { auditStream: this.keys.auditStream }, { event: canonicalJson(event) });
  }

  async recentForUser(user: string, limit = 20): Promise<AccessRequest[]> {
    const ids = await this.redis.zrevrange(this.keys.userRequests(user), 0, limit - 1);
    return this.getMany(ids);
  }
}

/** The approve script's reply as the caller's result (`lease`: the activation lease taken beside it). */
function approvalResult(req: AccessRequest, approver: string, rules: ApprovalRules, r: ScriptReply<'approve'>, lease: HeldLease | undefined): ApprovalResult {
  switch (r.status) {
    case 'recorded':
      return ok({ activated: false, approvals: Number(r.approvals), required: Number(r.required) });
    case 'activated':
      return ok({ activated: true, expiresAt: Number(r.expiresAt), ...(lease ? { lease } : {}) });
    case 'extension-approved':
      return ok({ activated: false, extendedGrant: r.grantId, expiresAt: Number(r.expiresAt) });
    case 'grant-ended':
      return { ...refuse('grant-ended', `grant ${req.extends} is ${r.state}`), grantState: r.state as RequestState };
    case 'over-total':
      return { ...refuse('over-total', `grant ${req.extends} would last ${r.totalMs} ms`), totalMs: Number(r.totalMs) };
    case 'conflict':
      return conflict(req.id, r.state as RequestState);
    case 'self':
      return refuse('self-approval', `${approver} requested ${req.id}`);
    case 'duplicate':
      return refuse('already-approved', `${approver} already approved ${req.id}`);
    case 'too-late':
      return { ...refuse('too-late', `${req.id} is past its approval deadline`), deadline: Number(r.deadline) };
    case 'too-long':
      return { ...refuse('too-long', `${req.id} asks for more than ${rules.maxDurationMs} ms`), durationMs: Number(r.durationMs) };
    default:
      return refuse('not-found', `no request ${req.id}`);
  }
}

// An in-memory RequestRepository with the store's rules (scripts.ts): atomic by construction (one thread),
// the same outcomes, the audit events appended beside every change.
import type { AuditEvent } from '../../../src/domain/audit-event.ts';
import { statesLeadingTo, type AccessRequest, type MessageRef, type RequestState } from '../../../src/domain/request-state.ts';
import { ok, ok0, refuse } from '../../../src/domain/result.ts';
import type { AcknowledgeResult, ApprovalResult, ApprovalRules, CreateResult, ExtensionResult, TransitionResult } from '../../../src/domain/store-results.ts';
import { grantDurationMs, shortenedDetail } from '../../../src/domain/shorter-approval.ts';
import type { ActivationLease, RequestRepository } from '../../../src/service/ports.ts';

export class InMemoryRequests implements RequestRepository {
  readonly requests = new Map<string, AccessRequest>();
  readonly refs = new Map<string, MessageRef[]>();
  /** grants whose activation follow-up is owed */
  readonly activating = new Set<string>();
  readonly attempts = new Map<string, number>();
  private readonly leases = new Set<string>();
  /** Test hook: activation leases reported lost from now on (a follow-up that outlived its lease) */
  readonly lostLeases = new Set<string>();

  constructor(readonly audit: AuditEvent[] = []) {}

  async get(id: string): Promise<AccessRequest | undefined> {
    const r = this.requests.get(id);
    return r && structuredClone(r);
  }

  async getMany(ids: readonly string[]): Promise<AccessRequest[]> {
    return ids.flatMap((id) => (this.requests.has(id) ? [structuredClone(this.requests.get(id)!)] : []));
  }

  async pendingIds(): Promise<string[]> {
    return [...this.requests.values()].filter((r) => r.state === 'pending').sort((a, b) => a.createdAt - b.createdAt).map((r) => r.id);
  }

  async activeGrantIds(jumpHost: string, now: number): Promise<string[]> {
    return [...this.requests.values()].filter((r) => r.jumpHost === jumpHost && r.state === 'active' && (r.expiresAt ?? 0) > now).map((r) => r.id);
  }

  async recentForUser(user: string, limit: number): Promise<AccessRequest[]> {
    const mine = [...this.requests.values()].filter((r) => r.requester === user);
    return structuredClone(mine.reverse().slice(0, limit));
  }

  async createWithinCap(req: AccessRequest, event: AuditEvent, maxPending: number): Promise<CreateResult> {
    const pending = (await this.recentForUser(req.requester, 200)).filter((r) => r.state === 'pending').length;
    if (pending >= maxPending) return { ...refuse('too-many-pending', `${pending} pending`), pending };
    this.requests.set(req.id, structuredClone(req));
    this.audit.push(event);
    return ok0();
  }

  async approve(req: AccessRequest, approver: string, now: number, rules: ApprovalRules, approvedMs?: number): Promise<ApprovalResult> {
    const r = this.requests.get(req.id);
    if (!r) return refuse('not-found', 'missing');
    if (r.state !== 'pending') return { ...refuse('conflict', r.state), state: r.state };
    const deadline = r.createdAt + rules.approvalTimeoutMs;
    if (now >= deadline) return { ...refuse('too-late', 'past the deadline'), deadline };
    if (r.requester === approver) return refuse('self-approval', 'self');
    if (r.approvers.includes(approver)) return refuse('already-approved', 'duplicate');
    if (r.durationMs > rules.maxDurationMs) return { ...refuse('too-long', 'over maxDuration'), durationMs: r.durationMs };
    const grant = r.extends ? this.requests.get(r.extends) : undefined;
    if (r.extends && r.approvers.length + 1 >= rules.requiredApprovals) {
      const refused = this.extensionRefusal(grant, r.durationMs, rules.maxTotalMs, now);
      if (refused) return refused;
    }
    r.approvers.push(approver);
    r.requiredApprovals = rules.requiredApprovals;
    // Shorter approvals: the request keeps the shortest time any approver chose (never for an extension).
    if (!r.extends && approvedMs !== undefined && approvedMs < grantDurationMs(r)) Object.assign(r, { approvedMs, shortenedBy: approver });
    const grantMs = grantDurationMs(r);
    // An auto-approved request says so in its decision and grant events; a shortened one says for how long.
    const shortened = shortenedDetail(r);
    const how = r.autoApproved !== undefined ? { detail: `auto-approved (rule ${r.autoApproved})` } : shortened ? { detail: shortened, durationMs: grantMs } : {};
    const base = { at: now, actor: approver, requestId: r.id, requester: r.requester, host: r.host, ...how };
    if (r.approvers.length < r.requiredApprovals) {
      this.audit.push({ ...base, type: 'approval-recorded' });
      return ok({ activated: false, approvals: r.approvers.length, required: r.requiredApprovals });
    }
    if (grant) {
      grant.expiresAt = grant.expiresAt! + r.durationMs;
      grant.extendedMs = (grant.extendedMs ?? 0) + r.durationMs;
      delete grant.pendingExtension;
      Object.assign(r, { state: 'extended', endedAt: now, expiresAt: grant.expiresAt });
      this.audit.push({ ...base, type: 'approved' }, { ...base, type: 'extended', requestId: grant.id, durationMs: r.durationMs, expiresAt: grant.expiresAt });
      return ok({ activated: false, extendedGrant: grant.id, expiresAt: grant.expiresAt });
    }
    Object.assign(r, { state: 'active', activatedAt: now, expiresAt: now + grantMs });
    this.activating.add(r.id);
    this.audit.push({ ...base, type: r.autoApproved !== undefined ? 'auto-approved' : 'approved' }, { ...base, type: 'activated', durationMs: grantMs, expiresAt: r.expiresAt });
    return ok({ activated: true, expiresAt: r.expiresAt! });
  }

  private extensionRefusal(grant: AccessRequest | undefined, durationMs: number, maxTotalMs: number, now: number) {
    if (!grant || grant.state !== 'active' || (grant.expiresAt ?? 0) <= now) return { ...refuse('grant-ended', 'ended'), grantState: grant?.state ?? 'expired' } as const;
    const totalMs = grant.expiresAt! - (grant.activatedAt ?? grant.expiresAt!) + durationMs;
    if (totalMs > maxTotalMs) return { ...refuse('over-total', 'over maxTotal'), totalMs } as const;
    return undefined;
  }

  async askExtension(
    grant: AccessRequest,
    extension: AccessRequest,
    events: { extended: AuditEvent; requested: AuditEvent },
    limits: { now: number; maxTotalMs: number; selfExtendMs: number },
  ): Promise<ExtensionResult> {
    const g = this.requests.get(grant.id);
    if (!g || g.requester !== extension.requester) return refuse('not-found', 'missing');
    const refused = this.extensionRefusal(g, extension.durationMs, limits.maxTotalMs, limits.now);
    if (refused) return refused;
    const waiting = g.pendingExtension ? this.requests.get(g.pendingExtension) : undefined;
    if (waiting?.state === 'pending') return { ...refuse('waiting', 'waiting'), extensionId: waiting.id };
    if ((g.extendedMs ?? 0) + extension.durationMs <= limits.selfExtendMs) {
      g.expiresAt = g.expiresAt! + extension.durationMs;
      g.extendedMs = (g.extendedMs ?? 0) + extension.durationMs;
      this.audit.push({ ...events.extended, expiresAt: g.expiresAt });
      return ok({ extended: true, expiresAt: g.expiresAt });
    }
    this.requests.set(extension.id, structuredClone(extension));
    g.pendingExtension = extension.id;
    this.audit.push(events.requested);
    return ok({ extended: false });
  }

  async transition(
    req: Pick<AccessRequest, 'id'>,
    to: RequestState,
    event: AuditEvent,
    fields: Record<string, string | number> = {},
    guard: { expiresAt?: number } = {},
  ): Promise<TransitionResult> {
    const r = this.requests.get(req.id);
    if (!r) return refuse('not-found', 'missing');
    if (!statesLeadingTo(to).includes(r.state)) return { ...refuse('conflict', r.state), state: r.state };
    if (guard.expiresAt !== undefined && r.expiresAt !== undefined && r.expiresAt !== guard.expiresAt)
      return { ...refuse('not-due', 'moved'), expiresAt: r.expiresAt };
    const from = r.state;
    Object.assign(r, fields, { state: to });
    this.audit.push(event);
    return ok({ from });
  }

  async acknowledge(req: Pick<AccessRequest, 'id'>, actor: string, now: number, event: AuditEvent): Promise<AcknowledgeResult> {
    const r = this.requests.get(req.id);
    if (!r) return refuse('not-found', 'missing');
    if (r.reviewBy === undefined) return refuse('not-break-glass', 'no review');
    if (r.acknowledgedBy) return { ...refuse('already', 'already'), by: r.acknowledgedBy };
    Object.assign(r, { acknowledgedBy: actor, acknowledgedAt: now });
    this.audit.push(event);
    return ok0();
  }

  async overdueReviews(now: number): Promise<string[]> {
    return [...this.requests.values()].filter((r) => r.reviewBy !== undefined && !r.acknowledgedBy && r.reviewBy <= now).map((r) => r.id);
  }

  async addMessageRefs(id: string, refs: readonly MessageRef[]): Promise<void> {
    this.refs.set(id, [...(this.refs.get(id) ?? []), ...refs]);
  }

  async messageRefs(id: string): Promise<MessageRef[]> {
    return [...(this.refs.get(id) ?? [])];
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    this.audit.push(event);
  }

  async withActivationLease(id: string, _leaseMs: number, fn: (lease: ActivationLease, req: AccessRequest | undefined) => Promise<void>): Promise<boolean> {
    if (this.leases.has(id) || !this.activating.has(id)) return false;
    this.leases.add(id);
    try {
      await fn({ check: () => this.leaseCheck(id) }, await this.get(id));
      return true;
    } finally {
      this.leases.delete(id);
    }
  }

  private leaseCheck(id: string): void {
    if (this.lostLeases.has(id)) throw new Error(`lost the activation lease of ${id}`);
  }

  async activationMessageAttempt(id: string): Promise<number> {
    const n = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, n);
    return n;
  }

  async finishActivation(id: string): Promise<void> {
    this.activating.delete(id);
  }

  readonly reminderClaims = new Set<string>();
  async claimReminder(id: string, what: string): Promise<boolean> {
    const key = `${id}:${what}`;
    if (this.reminderClaims.has(key)) return false;
    this.reminderClaims.add(key);
    return true;
  }

  /** Test helper: stores a request as it stands (no audit event). */
  put(req: AccessRequest): AccessRequest {
    this.requests.set(req.id, structuredClone(req));
    return req;
  }

  auditTypes(requestId?: string): string[] {
    return this.audit.filter((e) => requestId === undefined || e.requestId === requestId).map((e) => e.type);
  }
}

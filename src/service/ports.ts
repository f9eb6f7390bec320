// What the use cases need from the outside world, as small interfaces. Adapters (Redis stores, the jump-host
// sync, BullMQ, Slack) implement them; test/support/in-memory/ implements every one for the unit tests.
// Only domain types appear here, never an adapter's.
import type { JumpHostPolicy, Policy } from '../domain/policy.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { Clock } from '../domain/clock.ts';
import type { ConnectInstructions } from '../domain/connect-instructions.ts';
import type { IdGenerator } from '../domain/ids.ts';
import type { RegisteredKey, UserPublicKey } from '../domain/public-key.ts';
import type { AccessRequest, MessageRef, RequestState } from '../domain/request-state.ts';
import type { RequestStep } from '../domain/request-step.ts';
import type { Ok, Refusal } from '../domain/result.ts';
import type { AcknowledgeResult, ApprovalResult, HeldLease, ApprovalRules, CreateResult, ExtensionResult, RemoveKeyResult, SetKeyResult, TransitionResult } from '../domain/store-results.ts';

export type { Clock, IdGenerator };

export interface RequestRepository {
  get(id: string): Promise<AccessRequest | undefined>;
  getMany(ids: readonly string[]): Promise<AccessRequest[]>;
  /** every undecided request, oldest first */
  pendingIds(): Promise<string[]>;
  /** the grants active on this jump server now */
  activeGrantIds(jumpHost: string, now: number): Promise<string[]>;
  /** the person's latest requests, newest first */
  recentForUser(user: string, limit: number): Promise<AccessRequest[]>;
  /** stores the request with its audit event, unless the requester already has `maxPending` pending (atomic) */
  createWithinCap(req: AccessRequest, event: AuditEvent, maxPending: number): Promise<CreateResult>;
  /**
   * records one approval if the current policy's `rules` allow it (deadline, maxDuration, required approvals);
   * the last required one makes the request active and starts its clock (atomic); `approvedMs`: this approver
   * approves for less than asked (checked by the caller): the grant lasts the shortest time any approver chose
   */
  /** `activationLeaseMs`: an activation comes back holding the activation lease (`lease`), taken in the same round trip */
  approve(req: AccessRequest, approver: string, now: number, rules: ApprovalRules, approvedMs?: number, activationLeaseMs?: number): Promise<ApprovalResult>;
  /**
   * moves the request to `to` if the state machine allows it from its current state, with its audit event
   * (atomic); `guard.expiresAt`: only if the grant still ends then (else `not-due`: its end has moved)
   */
  transition(
    req: Pick<AccessRequest, 'id' | 'jumpHost'>,
    to: RequestState,
    event: AuditEvent,
    fields?: Record<string, string | number>,
    guard?: { expiresAt?: number },
  ): Promise<TransitionResult>;
  /**
   * the requester asks to extend `grant` (atomic: still active and before its end, within maxTotalMs, no other
   * extension waiting): within selfExtendMs its end moves now, else `extension` is stored undecided
   */
  askExtension(
    grant: AccessRequest,
    extension: AccessRequest,
    events: { extended: AuditEvent; requested: AuditEvent },
    limits: { now: number; maxTotalMs: number; selfExtendMs: number },
  ): Promise<ExtensionResult>;
  /** an owner acknowledges a break-glass grant, once (atomic, audited with `event`) */
  acknowledge(req: Pick<AccessRequest, 'id'>, actor: string, now: number, event: AuditEvent): Promise<AcknowledgeResult>;
  /** break-glass grants whose review was due by `now` and that nobody acknowledged */
  overdueReviews(now: number): Promise<string[]>;
  addMessageRefs(id: string, refs: readonly MessageRef[]): Promise<void>;
  messageRefs(id: string): Promise<MessageRef[]>;
  /** an audit event that goes with no state change (a refusal) */
  appendAudit(event: AuditEvent): Promise<void>;
  /**
   * runs `fn` holding the activation lease of the grant, if its follow-up is still owed: true if it ran. Gives
   * the lease up (rejects) if `fn` runs for several leases; `fn` goes on, so it checks the lease before sending.
   * `fn` is given the request as it stood under the lease (read with the check: one round trip). `held`: the
   * lease approve() took, run under first.
   */
  withActivationLease(id: string, leaseMs: number, fn: (lease: ActivationLease, req: AccessRequest | undefined) => Promise<void>, held?: HeldLease): Promise<boolean>;
  /** counts attempts at sending the activation message: more than 1 means an earlier one may have sent it */
  activationMessageAttempt(id: string): Promise<number>;
  /** the follow-up is done: nobody owes it any more */
  finishActivation(id: string): Promise<void>;
  /** true for the first caller to claim this reminder (`what`: its number, or `escalation`), across replicas */
  claimReminder(id: string, what: string, ttlMs: number): Promise<boolean>;
}

/** The activation follow-up's hold on its grant. */
export interface ActivationLease {
  /** throws if the lease is no longer ours (another replica may run the follow-up now) */
  check(): void;
}

export interface KeyRepository {
  get(user: string): Promise<RegisteredKey | undefined>;
  set(user: string, key: UserPublicKey, now: number): Promise<SetKeyResult>;
  remove(user: string, now: number): Promise<RemoveKeyResult>;
}

/** Keys with access on a jump server outside jit-jump: the broker's own keys, and keys standing outside the block. */
export interface StandingKeys {
  /** where this key ("SHA256:…") has such access, if anywhere (outside the block: as the last sync read the file) */
  find(fingerprint: string): Promise<{ kind: 'broker-key' | 'outside-block'; jumpHost: string } | undefined>;
}

/** The one path that changes a jump server: renders the block from the store and writes it. */
export interface BlockSync {
  /** the ids of the grants the written block holds; `skippedStanding`: grants left out because their key stands
   *  in authorized_keys outside the block (access jit-jump does not govern), by fingerprint; `before`: work the
   *  write waits for before it replaces the file (bounded) */
  sync(jumpHost: string, before?: Promise<unknown>): Promise<{ grantIds: string[]; skippedStanding?: { fingerprint: string; grantIds: string[] }[] }>;
  jumpHost(name: string): JumpHostPolicy;
}

/** Domain events the people involved are told about. Each implementation decides how (Slack: DMs, message updates). */
export interface Notifier {
  /** a new request: ask its owners; returns where the approval message landed */
  requestPending(request: AccessRequest, ownerUserIds: readonly string[]): Promise<MessageRef[]>;
  /** an approval was recorded and more are needed: every copy of the approval message shows it */
  approvalRecorded(request: AccessRequest, refs: readonly MessageRef[]): Promise<void>;
  /** the request left `pending` or its grant ended: every copy of the approval message shows the outcome */
  requestChanged(request: AccessRequest, refs: readonly MessageRef[]): Promise<void>;
  /**
   * one step of the request's story (`request` as it stands after it): a reply in the thread of every copy of
   * the approval message. Called once per step (see showCurrentState); never throws (a copy gone is logged).
   */
  requestStep(request: AccessRequest, step: RequestStep, refs: readonly MessageRef[]): Promise<void>;
  /** the grant is active and its line is on the jump server: the requester gets the connect instructions */
  grantActivated(request: AccessRequest, instructions: ConnectInstructions): Promise<void>;
  /** approved, but no usable grant came of it (installing failed, or it had already ended): the requester is told */
  grantNotActivated(request: AccessRequest): Promise<void>;
  /** denied (by `decidedBy`, with `denyReason`) */
  requestDenied(request: AccessRequest): Promise<void>;
  requestTimedOut(request: AccessRequest): Promise<void>;
  /** cancelled while pending by someone other than the requester (an owner, `decidedBy`) */
  requestCancelled(request: AccessRequest): Promise<void>;
  /** the grant ended (expired, or revoked by someone other than the requester) */
  grantEnded(request: AccessRequest): Promise<void>;
  expiryWarning(request: AccessRequest, leftMs: number): Promise<void>;
  /** the grant's end moved later by an approved `extension`: the requester is told the new end */
  grantExtended(grant: AccessRequest, extension: AccessRequest): Promise<void>;
  /** an undecided request has waited `waitedMs`: `to` (user ids) are reminded; `escalated`: they include escalateTo */
  reminder?(request: AccessRequest, waitedMs: number, to: readonly string[], escalated: boolean): Promise<void>;
  /** what these people see of their requests, grants or decisions changed (their Home tab is shown afresh) */
  homeChanged?(userIds: readonly string[]): Promise<void>;
  /** whether the activation message of this grant was already delivered (an earlier attempt died after posting) */
  activationMessageSent?(request: AccessRequest): Promise<boolean>;
}

/** The owners as user ids, or `owners-unavailable` when a group's members cannot be verified now (fail closed). */
export type OwnerSet = Ok<Set<string>> | Refusal<'owners-unavailable'>;

export interface OwnerDirectory {
  /** Owner ids from the policy (users and user groups) expanded to user ids. */
  expand(owners: readonly string[]): Promise<OwnerSet>;
}

/** The timed steps of a request's life that the service has scheduled (the scheduling adapter runs them). */
export type AccessJobName = 'revoke' | 'expiry-warning' | 'timeout';

export interface JobScheduler {
  /**
   * the job that runs `name` at `at` (kept if it exists); `grantEnd`: the grant's end a revoke or warning job is
   * for: one whose grant was extended since waits for the new end (revoke) or does nothing (a new warning is due)
   */
  schedule(name: AccessJobName, requestId: string, at: number, now: number, grantEnd?: number): Promise<void>;
  cancel(name: AccessJobName, requestId: string): Promise<void>;
}

export type RateLimitKind = 'request' | 'key-change';

export interface RateLimits {
  /** takes one slot of `limit` per `windowMs`; `firstRefusal`: the first refusal in this window (audit it once) */
  take(
    kind: RateLimitKind,
    user: string,
    limit: number,
    windowMs: number,
    now: number,
  ): Promise<{ ok: true } | { ok: false; retryAfterMs: number; firstRefusal: boolean }>;
}

/** The part of a logger the use cases use (pino's satisfies it). */
export interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** How a grant was used, from its jump server's sshd log (who actually connected). */
export interface UsageReports {
  /** one line ("used 14 min in 3 connections from … to …", "not used"); undefined where the log is not read */
  usage(grant: AccessRequest, now: number): Promise<string | undefined>;
  /** the same as figures (`/jump audit`); undefined where the log is not read */
  measure?(grant: AccessRequest, now: number): Promise<GrantUse | undefined>;
}

/** How long a grant's key was connected in all, and in how many connections. */
export interface GrantUse {
  connections: number;
  usedMs: number;
}

/** The audit trail as stored, read back (`/jump audit`). */
export interface AuditTrail {
  /** the events stored from `sinceMs` up to `untilMs`, oldest first */
  events(sinceMs: number, untilMs: number): AsyncIterable<AuditEvent>;
}

export interface ServiceDeps {
  policy: Policy;
  requests: RequestRepository;
  keys: KeyRepository;
  /** keys a person may not register: they already have access outside jit-jump */
  standingKeys: StandingKeys;
  sync: BlockSync;
  jobs: JobScheduler;
  notifier: Notifier;
  owners: OwnerDirectory;
  clock: Clock;
  logger: Log;
  newId: IdGenerator;
  /** per-person rate limits (policy limits); without one nothing is rate-limited */
  limits?: RateLimits;
  /** how grants were used (where jump servers' sshd logs are read); without it nothing reports usage */
  usage?: UsageReports;
  /** the stored audit trail (`/jump audit`); without it the command cannot answer */
  auditTrail?: AuditTrail;
  /** how long an activation follow-up may run before another replica may take it over */
  activationLeaseMs: number;
  /** runs follow-up work that does not gate access (jobs, messages) a few at a time; without it, at once */
  pace?: <T>(work: () => Promise<T>) => Promise<T>;
}

// The life of an access request, in one table: which states exist, which moves between them are legal, and
// which audit events each move appends (in the same atomic step). The store's Lua scripts take their guards
// from this table (the allowed from-states and the state names are passed in), so nothing else decides it.
// A request becomes a grant when it turns active; the grant id is the request id.
//
// There is no stored `approved` state: the last required approval makes the grant active in one atomic step
// (its clock starts then), and a key that cannot be installed ends the grant as `failed`. A request that
// stopped at `approved` would be one nothing moves on. The audit trail still records both halves of that one
// move: the decision (`approved`) and the grant (`activated`).
import type { AuditEventType } from './audit-event.ts';

// An extension of a grant is a request of its own (`extends` names the grant): decided like any request, and
// approved it ends as `extended` (the grant's end moved in the same atomic step) instead of becoming a grant.
export const REQUEST_STATES = ['pending', 'active', 'expired', 'revoked', 'denied', 'cancelled', 'timed-out', 'failed', 'extended'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** A request is created undecided (audit event `requested`); the store indexes the undecided ones. */
export const INITIAL_STATE = 'pending' satisfies RequestState;
/** The state in which a grant's key line stands on its jump server; the store indexes these grants. */
export const ACTIVE_STATE = 'active' satisfies RequestState;

export interface Transition {
  from: RequestState;
  to: RequestState;
  /** the audit events the move appends, in this order */
  audit: readonly AuditEventType[];
}

/** Every legal move. Nothing else moves a request; a move not listed here is refused atomically by the store. */
export const TRANSITIONS = [
  { from: 'pending', to: 'active', audit: ['approved', 'activated'] }, // the last required approval
  { from: 'pending', to: 'extended', audit: ['approved', 'extended'] }, // the last approval of an extension
  { from: 'pending', to: 'denied', audit: ['denied'] },
  { from: 'pending', to: 'cancelled', audit: ['cancelled'] }, // by the requester
  { from: 'pending', to: 'timed-out', audit: ['timed-out'] }, // no decision within the approval timeout
  { from: 'active', to: 'expired', audit: ['expired'] },
  { from: 'active', to: 'revoked', audit: ['revoked'] }, // early: the requester, an owner, or a key change
  { from: 'active', to: 'failed', audit: ['failed'] }, // the key could not be installed on the jump server
] as const satisfies readonly Transition[];

export function transitionBetween(from: RequestState, to: RequestState): Transition | undefined {
  return TRANSITIONS.find((t) => t.from === from && t.to === to);
}

export function canTransition(from: RequestState, to: RequestState): boolean {
  return transitionBetween(from, to) !== undefined;
}

/** The states from which a request may move to `to`: what the store checks atomically. */
export function statesLeadingTo(to: RequestState): RequestState[] {
  return REQUEST_STATES.filter((s) => canTransition(s, to));
}

/** The audit events of every move into `to`, if they are the same whatever the state it leaves. */
export function auditEventsInto(to: RequestState): readonly AuditEventType[] | undefined {
  const moves = TRANSITIONS.filter((t) => t.to === to).map((t) => t.audit.join(','));
  return moves.length > 0 && moves.every((m) => m === moves[0]) ? TRANSITIONS.find((t) => t.to === to)!.audit : undefined;
}

export function isFinal(state: RequestState): boolean {
  return !TRANSITIONS.some((t) => t.from === state);
}

/** Why a request or grant ended, where its state alone does not say it. */
export type EndReason = 'key-changed' | 'jump-host-retired' | 'grant-ended';

/** The state an extension request moves to when its last approval moves its grant's end. */
export const EXTENDED_STATE = 'extended' satisfies RequestState;

export interface AccessRequest {
  id: string;
  requester: string;
  host: string;
  jumpHost: string;
  durationMs: number;
  reason: string;
  state: RequestState;
  createdAt: number;
  requiredApprovals: number;
  approvers: string[];
  activatedAt?: number;
  expiresAt?: number;
  endedAt?: number;
  /** who denied, revoked or cancelled */
  decidedBy?: string;
  denyReason?: string;
  /** "SHA256:…" of the requester's key when they asked: the key the owners approve, and the only key the
   *  grant is rendered with (a request stored before grants were bound to keys has none) */
  keyFingerprint?: string;
  /** set when the grant ended for a reason of its own (no `decidedBy`): `key-changed` (the requester's key
   *  changed, which ends their grants and pending requests), `jump-host-retired`, … */
  endReason?: EndReason;
  /** how the grant was used, as it ended ("used 14 min in 3 connections from … to …", "not used"); only where
   *  its jump server's sshd log is read */
  usage?: string;
  /** denied because it asks for longer than the host's maxDuration when approved (ms): the policy changed */
  policyMaxMs?: number;
  /** a break-glass grant: an owner must acknowledge it by then (its post-hoc review) */
  reviewBy?: number;
  /** who acknowledged the break-glass grant, and when */
  acknowledgedBy?: string;
  acknowledgedAt?: number;
  /** granted without a click by this autoApprove rule (its number, from 1) */
  autoApproved?: number;
  /** approved for less than asked: the shortest duration an approver chose (ms); the grant lasts this long */
  approvedMs?: number;
  /** the approver who chose `approvedMs` */
  shortenedBy?: string;
  /** an extension request: the id of the grant it extends (its `durationMs` is the time it adds) */
  extends?: string;
  /** a grant: the time extensions have added to it so far (ms) */
  extendedMs?: number;
  /** a grant: the id of the extension request last asked for it (still waiting if that one is pending) */
  pendingExtension?: string;
}

/** Where an approval request was posted, so every copy can be updated in place. */
export interface MessageRef {
  channel: string;
  ts: string;
}

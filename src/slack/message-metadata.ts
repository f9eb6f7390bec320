// Slack message metadata on every message the broker posts: a stable `event_type` and a payload with the
// request's id, host and state, so Slack workflows, other bots, the sandbox, the tests and the broker's own
// duplicate checks recognise a message by its data, never by its wording. README lists the types.
import type { AuditDigest } from '../domain/audit-digest.ts';
import type { AuditEvent, AuditEventType } from '../domain/audit-event.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { RequestStep } from '../domain/request-step.ts';

export const EVENT_TYPES = {
  /** the approval message (owners' DMs, approval channel) while the request waits for approval */
  requestPending: 'jit_request_pending',
  /** the same message once the request left pending (updated in place) */
  requestDecided: 'jit_request_decided',
  /** DM to the requester: denied or timed out */
  requestClosed: 'jit_request_closed',
  /** DM to the requester: connect instructions */
  grantActive: 'jit_grant_active',
  /** DM to the requester: approved, but no usable grant came of it */
  grantFailed: 'jit_grant_failed',
  /** DM to the requester: the grant ends soon */
  grantWarning: 'jit_grant_warning',
  /** DM to the requester: the grant expired or was revoked by someone else */
  grantEnded: 'jit_grant_ended',
  /** DM to the requester: the grant's end moved later (an approved extension) */
  grantExtended: 'jit_grant_extended',
  /** a reply in the thread of the approval message (every copy): one step of the request's story */
  requestStep: 'jit_request_step',
  /** DM to an owner (and, escalated, to escalateTo): a request still waits for a decision */
  requestReminder: 'jit_request_reminder',
  /** audit channel: one line per audit event (key and jump-host events have their own types below) */
  audit: 'jit_audit',
  keyChanged: 'jit_key_changed',
  jumpHostAlert: 'jit_jump_host_alert',
  /** the ephemeral answer to `/jump audit`: the summary's totals (Slack itself drops metadata on ephemeral messages) */
  auditSummary: 'jit_audit_summary',
  /** audit channel: the daily digest; its chain_seq/chain_hash are a checkpoint like every jit_audit line's */
  auditDigest: 'jit_audit_digest',
} as const;

export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];
export type EventPayload = Record<string, string | number>;

export interface MessageMetadata {
  event_type: EventType;
  event_payload: EventPayload;
}

/** The payload of every message about a request. */
export function requestPayload(r: AccessRequest): EventPayload {
  const p: EventPayload = {
    request_id: r.id,
    host: r.host,
    state: r.state,
    requester: r.requester,
    jump_host: r.jumpHost,
    approvals: r.approvers.length,
    required_approvals: r.requiredApprovals,
  };
  if (r.expiresAt !== undefined) p.expires_at = r.expiresAt;
  if (r.decidedBy) p.decided_by = r.decidedBy;
  if (r.keyFingerprint) p.key_fingerprint = r.keyFingerprint;
  if (r.endReason) p.end_reason = r.endReason;
  if (r.usage) p.usage = r.usage;
  // An extension request names the grant it extends.
  if (r.extends) p.extends = r.extends;
  if (r.autoApproved !== undefined) p.auto_approved = r.autoApproved;
  if (r.reviewBy !== undefined) p.break_glass = r.acknowledgedBy ? 'acknowledged' : 'review-due';
  // Approved for less than asked: the time granted and who chose it (shorter approvals).
  if (r.approvedMs !== undefined) Object.assign(p, { approved_ms: r.approvedMs, shortened_by: r.shortenedBy ?? '' });
  return p;
}

export function requestMetadata(event_type: EventType, r: AccessRequest): MessageMetadata {
  return { event_type, event_payload: requestPayload(r) };
}

/** A thread reply's metadata: the request as it stands, and the step told (`step`, and `step_by` where it names one). */
export function requestStepMetadata(r: AccessRequest, step: RequestStep): MessageMetadata {
  const p = requestPayload(r);
  p.step = step.kind;
  if ('by' in step) p.step_by = step.by;
  return { event_type: EVENT_TYPES.requestStep, event_payload: p };
}

/** What an audit event leaves behind: the request's state after it, or for events on no request, what happened. */
const STATE_AFTER: Record<AuditEventType, string> = {
  requested: 'pending',
  'approval-recorded': 'pending',
  approved: 'approved',
  'auto-approved': 'approved',
  activated: 'active',
  extended: 'active',
  denied: 'denied',
  expired: 'expired',
  revoked: 'revoked',
  cancelled: 'cancelled',
  'timed-out': 'timed-out',
  failed: 'failed',
  refused: 'refused',
  'key-added': 'added',
  'key-replaced': 'replaced',
  'key-removed': 'removed',
  'jump-host-alert': 'alert',
  connection: 'connected',
  'session-ended': 'session-ended',
  'policy-reloaded': 'applied',
  'drift-repaired': 'repaired',
  'break-glass': 'break-glass',
  'break-glass-acknowledged': 'acknowledged',
  'break-glass-review-overdue': 'review-overdue',
};

/**
 * An audit channel line's metadata. `audit_id` (the audit stream entry) is unique per event: a replica that
 * takes over an unacknowledged entry looks for it before posting again. Events on no request carry
 * `request_id: ''`; a jump-host alert's `host` is the jump server.
 */
export function auditMetadata(e: AuditEvent, auditId: string): MessageMetadata {
  const event_type = e.type === 'jump-host-alert' ? EVENT_TYPES.jumpHostAlert : e.type.startsWith('key-') ? EVENT_TYPES.keyChanged : EVENT_TYPES.audit;
  const p: EventPayload = { audit_id: auditId, audit_type: e.type, request_id: e.requestId ?? '', host: e.host ?? '', state: STATE_AFTER[e.type], at: e.at };
  if (e.actor) p.actor = e.actor;
  if (e.requester) p.requester = e.requester;
  if (e.code) p.code = e.code;
  if (e.chain) {
    p.chain_seq = e.chain.seq;
    p.chain_hash = e.chain.hash;
  }
  return { event_type, event_payload: p };
}

/**
 * The daily digest's metadata: its local date (`digest_date`, what a replica taking over an unfinished run looks
 * for), its window, the chain head (a checkpoint) and the headline counts. On no request: `request_id: ''`.
 */
export function digestMetadata(d: AuditDigest, date: string): MessageMetadata {
  const p: EventPayload = { request_id: '', host: '', state: 'posted', digest_date: date, since: d.since, until: d.until };
  if (d.chainHead) {
    p.chain_seq = d.chainHead.seq;
    p.chain_hash = d.chainHead.hash;
  }
  for (const type of ['requested', 'approved', 'auto-approved', 'denied', 'break-glass', 'expired', 'revoked', 'refused'] as const)
    p[`count_${type.replace(/-/g, '_')}`] = d.counts[type] ?? 0;
  p.unused_grants = d.unused.length;
  p.awaiting_review = d.awaitingReview.length;
  p.standing_keys = d.standing.reduce((n, e) => n + e.keys.length, 0);
  p.jump_hosts_unread = d.standing.filter((e) => e.error !== undefined).length;
  return { event_type: EVENT_TYPES.auditDigest, event_payload: p };
}

/** Reads the metadata of a message as `conversations.history` (with include_all_metadata) or the fake returns it. */
export function metadataOf(m: unknown): MessageMetadata | undefined {
  const meta = (m as { metadata?: { event_type?: unknown; event_payload?: unknown } } | undefined)?.metadata;
  if (!meta || typeof meta.event_type !== 'string' || !meta.event_type.startsWith('jit_')) return undefined;
  return { event_type: meta.event_type as EventType, event_payload: (meta.event_payload ?? {}) as EventPayload };
}

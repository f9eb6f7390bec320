// One audit event per state change or refused action. Built in the domain, stored atomically with the
// change (Redis stream), posted to the audit channel and logged by the audit forwarder.
import type { RefusalCode } from './result.ts';

export type AuditEventType =
  | 'requested'
  | 'approval-recorded'
  | 'approved'
  /** granted by an autoApprove rule (the broker is the actor; `detail`: which rule) */
  | 'auto-approved'
  | 'activated'
  /** access taken at once by someone on the breakGlass list (then activated) */
  | 'break-glass'
  /** an owner acknowledged a break-glass grant (its post-hoc review) */
  | 'break-glass-acknowledged'
  /** a break-glass grant was not acknowledged within reviewWithin: escalated to the audit channel */
  | 'break-glass-review-overdue'
  /** a grant's end moved later: an approved extension, or one within selfExtend */
  | 'extended'
  | 'denied'
  | 'expired'
  | 'revoked'
  | 'cancelled'
  | 'timed-out'
  | 'failed'
  | 'key-added'
  | 'key-replaced'
  | 'key-removed'
  | 'refused'
  | 'jump-host-alert'
  /** a grant's key logged in on its jump server (from sshd's log) */
  | 'connection'
  /** the broker ended a live connection because its grant ended */
  | 'session-ended'
  /** the broker applied a changed policy (SIGHUP or a change of the policy file); `detail`: what changed. A
   *  refused reload is a `refused` event with code `policy-invalid` (the old policy stays) */
  | 'policy-reloaded'
  /** a sync found a jump server's managed block different from what the active grants render (lines missing,
   *  left over or edited) and rewrote it; `detail`: what differed */
  | 'drift-repaired';

export interface AuditEvent {
  type: AuditEventType;
  at: number;
  actor?: string;
  requestId?: string;
  requester?: string;
  host?: string;
  durationMs?: number;
  expiresAt?: number;
  reason?: string;
  detail?: string;
  /** why a `refused` event was refused (stable, see RefusalCode) */
  code?: RefusalCode;
  /** set by the audit forwarder from the stored entry (never stored inside the event): its place in the hash chain */
  chain?: { seq: number; hash: string };
}

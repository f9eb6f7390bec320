// What a use case answers the person who acted: a coded reply carrying data. The Slack layer words it
// (src/slack/messages.ts), a refusal of a domain rule (policy, permissions, key checks, command parsing) too:
// it carries the rule's code and data, never a sentence.
import type { RegisteredKey } from '../domain/public-key.ts';
import type { AccessRequest, RequestState } from '../domain/request-state.ts';
import type { RefusalDetail } from '../domain/result.ts';
import type { AuditSummary } from '../domain/audit-summary.ts';
import type { GrantUse, RateLimitKind } from './ports.ts';
import type { RequestForm } from '../domain/requestable-hosts.ts';

export type Reply =
  /** `hosts`: the hosts the person may request; `audit`: they may use `/jump audit` */
  | { kind: 'help'; hosts?: string[]; audit?: boolean }
  /** refused by a domain rule: its code and the data of its sentence */
  | ({ kind: 'refused' } & RefusalDetail)
  | { kind: 'request-gone' }
  | { kind: 'already'; state: RequestState }
  | { kind: 'self-approval' }
  | { kind: 'already-approved' }
  | { kind: 'approval-recorded'; approvals: number; required: number }
  /** `/jump request` alone: the Slack layer opens the request form (these words only if it cannot) */
  /** `fallback`: what to say if Slack does not open the form (a typed request that lacked its reason) */
  | { kind: 'request-form'; form: RequestForm; fallback?: RefusalDetail }
  | { kind: 'request-sent'; id: string; host: string; durationMs: number; requiredApprovals: number }
  /** break-glass: active at once; the owners review it within `reviewWithinMs` */
  | { kind: 'break-glass'; id: string; host: string; durationMs: number; reviewWithinMs: number }
  /** a break-glass grant acknowledged (by the clicker, or earlier by `by`) */
  | { kind: 'acknowledged'; id: string; by: string }
  /** granted without a click by autoApprove rule `rule` (from 1); the connect instructions follow by DM */
  | { kind: 'auto-approved'; id: string; host: string; durationMs: number; rule: number }
  | { kind: 'too-many-pending'; pending: number; max: number }
  | { kind: 'rate-limited'; what: RateLimitKind; limit: number; windowMs: number; retryAfterMs: number }
  | { kind: 'key'; key: RegisteredKey }
  | { kind: 'no-key' }
  | { kind: 'key-taken' }
  /** endedGrants / cancelledRequests: what the key change ended (a grant is bound to the key that was approved) */
  | { kind: 'key-saved'; type: string; fingerprint: string; replaced: boolean; endedGrants: number; cancelledRequests: number }
  | { kind: 'no-key-to-remove' }
  | { kind: 'key-removed'; fingerprint: string; endedGrants: number; cancelledRequests: number }
  | { kind: 'not-an-id'; text: string }
  | { kind: 'not-yours'; id: string }
  | { kind: 'cancelled'; id: string }
  | { kind: 'revoked'; id: string; host: string }
  | { kind: 'nothing-to-revoke'; id: string; state: RequestState }
  /** the grant's end moved at once (within selfExtend) */
  | { kind: 'extended'; id: string; host: string; durationMs: number; expiresAt: number }
  /** an extension request went to the owners; `id`: the extension's, `grantId`: the grant's */
  | { kind: 'extension-sent'; id: string; grantId: string; host: string; durationMs: number; requiredApprovals: number; selfExtendMs: number }
  /** `awaiting`: pending requests on the person's hosts they may still decide; `onTheirHosts` (list all): every
   *  pending request and active grant on those hosts; `ownsHosts`: whether they own any host */
  | { kind: 'list'; open: AccessRequest[]; awaiting?: AccessRequest[]; onTheirHosts?: AccessRequest[]; ownsHosts?: boolean }
  | AuditSummaryReply;

/**
 * `/jump audit`: the summary of `sinceMs`..`untilMs` for the subject asked about (`host` or `person`), over
 * every host (`ownHosts` undefined: an auditor) or the hosts the person owns; `usage` by grant id, for the
 * grants shown where their jump server's log is read.
 */
export interface AuditSummaryReply {
  kind: 'audit-summary';
  host?: string;
  person?: string;
  ownHosts?: string[];
  sinceMs: number;
  untilMs: number;
  summary: AuditSummary;
  usage: Record<string, GrantUse>;
}

/** What the caller sees at once (ephemeral), and work to do after Slack has been answered. */
export interface Outcome {
  reply?: Reply;
  after?: () => Promise<void>;
}

/** The reply to a domain refusal: its code and data only (the technical message stays in logs and audit). */
export function refusedReply(r: RefusalDetail): Reply {
  // One object per code: TypeScript cannot follow that code and params stay paired when read apart.
  return { kind: 'refused', code: r.code, params: r.params } as Reply;
}

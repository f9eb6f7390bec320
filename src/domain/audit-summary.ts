// `/jump audit`: the audit trail of a window reduced to what an auditor reads: each grant (who asked, who
// approved, how long it was granted, how it ended) and the totals (grants, break-glass uses and their reviews,
// refusals by code, denials). Fed one event at a time (a window can be long); pure, no clock.
import type { AuditEvent } from './audit-event.ts';
import { AUTO_APPROVER } from './auto-approval.ts';
import type { AccessRequest, RequestState } from './request-state.ts';

/** Whose events a summary covers. */
export interface AuditScope {
  /** only these hosts (an owner's, or the one asked about); undefined: every host, and events on no host */
  hosts?: ReadonlySet<string>;
  /** only this person's grants, denials and refusals */
  person?: string;
}

/** How a grant came to be. */
export type GrantApproval =
  | { kind: 'owners'; by: string[] }
  | { kind: 'auto'; rule?: number }
  | { kind: 'break-glass'; acknowledgedBy?: string }
  /** approved before the window and no record left to say by whom */
  | { kind: 'unknown' };

export interface GrantEnd {
  state: Extract<RequestState, 'expired' | 'revoked' | 'failed'>;
  at: number;
  /** who revoked it, where someone did */
  by?: string;
}

export interface GrantRow {
  id: string;
  host: string;
  requester: string;
  approval: GrantApproval;
  activatedAt?: number;
  /** the time granted: the approved duration and every extension */
  grantedMs: number;
  /** the planned end while active */
  expiresAt?: number;
  /** undefined while the grant is active (or its end is after the window) */
  end?: GrantEnd;
}

export interface AuditSummary {
  /** newest activation first */
  grants: GrantRow[];
  breakGlass: { uses: number; awaitingAcknowledgement: number };
  /** refusals by code, most frequent first (ties by code) */
  refusals: { code: string; count: number }[];
  denials: number;
}

/** The most grants a summary shows one by one (their usage is read for each); the rest are counted. */
export const MAX_GRANTS_SHOWN = 25;

const BROKER_ACTOR = AUTO_APPROVER;

/** Whether an event belongs to the scope: hostless events (a caller refused before any request) only unscoped. */
export function inScope(e: AuditEvent, scope: AuditScope): boolean {
  if (scope.hosts && (e.host === undefined || !scope.hosts.has(e.host))) return false;
  if (scope.person === undefined) return true;
  // A refusal is the actor's (nothing of theirs need exist); everything else is about the requester's request.
  return e.type === 'refused' ? e.actor === scope.person : e.requester === scope.person;
}

interface Draft extends GrantRow {
  approvers: string[];
  auto: boolean;
  breakGlass: boolean;
}

/** Folds events, oldest first, into the summary. */
export class AuditTally {
  private readonly drafts = new Map<string, Draft>();
  /** approvals seen before their grant's activation (or of requests never activated) */
  private readonly approvers = new Map<string, string[]>();
  private readonly refused = new Map<string, number>();
  private readonly breakGlassIds = new Set<string>();
  private readonly acknowledged = new Map<string, string>();
  private denials = 0;

  constructor(private readonly scope: AuditScope) {}

  add(e: AuditEvent): void {
    if (!inScope(e, this.scope)) return;
    if (e.type === 'refused') return void this.refused.set(e.code ?? 'unknown', (this.refused.get(e.code ?? 'unknown') ?? 0) + 1);
    if (e.type === 'denied') return void this.denials++;
    const id = e.requestId;
    if (id === undefined) return;
    switch (e.type) {
      case 'approval-recorded':
      case 'approved':
        if (e.actor && e.actor !== BROKER_ACTOR) this.approvers.set(id, [...new Set([...(this.approvers.get(id) ?? []), e.actor])]);
        return;
      case 'auto-approved':
        return void this.approvers.set(id, [BROKER_ACTOR]);
      case 'break-glass':
        return void this.breakGlassIds.add(id);
      case 'break-glass-acknowledged':
        if (e.actor) this.acknowledged.set(id, e.actor);
        return;
      case 'activated':
        return this.activated(id, e);
      case 'extended':
        return this.update(id, e, (d) => (d.grantedMs += e.durationMs ?? 0));
      case 'expired':
      case 'revoked':
      case 'failed':
        return this.update(id, e, (d) => (d.end = { state: e.type as GrantEnd['state'], at: e.at, ...(e.type === 'revoked' && e.actor ? { by: e.actor } : {}) }));
      default:
        return;
    }
  }

  private activated(id: string, e: AuditEvent): void {
    const approvers = this.approvers.get(id) ?? [];
    this.drafts.set(id, {
      id,
      host: e.host ?? '',
      requester: e.requester ?? '',
      approval: { kind: 'unknown' },
      activatedAt: e.at,
      grantedMs: e.durationMs ?? 0,
      ...(e.expiresAt !== undefined ? { expiresAt: e.expiresAt } : {}),
      approvers: approvers.filter((a) => a !== BROKER_ACTOR),
      auto: approvers.includes(BROKER_ACTOR),
      breakGlass: this.breakGlassIds.has(id),
    });
  }

  /** A grant activated before the window shows up through its later events: a row with what they say. */
  private update(id: string, e: AuditEvent, change: (d: Draft) => void): void {
    let d = this.drafts.get(id);
    if (!d) {
      d = { id, host: e.host ?? '', requester: e.requester ?? '', approval: { kind: 'unknown' }, grantedMs: 0, approvers: [], auto: false, breakGlass: false };
      this.drafts.set(id, d);
    }
    change(d);
  }

  summary(): AuditSummary {
    const grants = [...this.drafts.values()]
      .map((d): GrantRow => {
        const { approvers, auto, breakGlass, ...row } = d;
        const approval: GrantApproval = breakGlass
          ? { kind: 'break-glass', ...(this.acknowledged.has(d.id) ? { acknowledgedBy: this.acknowledged.get(d.id)! } : {}) }
          : auto
            ? { kind: 'auto' }
            : approvers.length > 0
              ? { kind: 'owners', by: approvers }
              : { kind: 'unknown' };
        return { ...row, approval };
      })
      .sort(newestFirst);
    return {
      grants,
      breakGlass: countBreakGlass(grants),
      refusals: [...this.refused].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1)),
      denials: this.denials,
    };
  }
}

/** Newest activation first; grants activated before the window (no activation seen) last. */
function newestFirst(a: GrantRow, b: GrantRow): number {
  return (b.activatedAt ?? 0) - (a.activatedAt ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function countBreakGlass(grants: readonly GrantRow[]): AuditSummary['breakGlass'] {
  const uses = grants.filter((g) => g.approval.kind === 'break-glass');
  return { uses: uses.length, awaitingAcknowledgement: uses.filter((g) => g.approval.kind === 'break-glass' && !g.approval.acknowledgedBy).length };
}

/** What the stored request adds to a row: who approved (the rule of an auto-approval), its review, its end. */
export type GrantRecord = Pick<
  AccessRequest,
  'id' | 'approvers' | 'autoApproved' | 'reviewBy' | 'acknowledgedBy' | 'state' | 'activatedAt' | 'expiresAt' | 'endedAt' | 'decidedBy'
>;

/**
 * Completes the rows from the stored requests (the events of the window may start after a grant's approval, and
 * only the record names an auto-approval's rule or a later acknowledgement); the events' end stands where the
 * record has none. Totals of break-glass reviews follow the completed rows.
 */
export function completeFromRecords(summary: AuditSummary, records: ReadonlyMap<string, GrantRecord>): AuditSummary {
  const grants = summary.grants.map((g) => {
    const r = records.get(g.id);
    if (!r) return g;
    const approval: GrantApproval =
      r.reviewBy !== undefined
        ? { kind: 'break-glass', ...(r.acknowledgedBy ? { acknowledgedBy: r.acknowledgedBy } : {}) }
        : r.autoApproved !== undefined
          ? { kind: 'auto', rule: r.autoApproved }
          : r.approvers.some((a) => a !== BROKER_ACTOR)
            ? { kind: 'owners', by: r.approvers.filter((a) => a !== BROKER_ACTOR) }
            : g.approval;
    const ended = r.state === 'expired' || r.state === 'revoked' || r.state === 'failed';
    const end: GrantEnd | undefined =
      g.end ?? (ended ? { state: r.state as GrantEnd['state'], at: r.endedAt ?? r.expiresAt ?? 0, ...(r.state === 'revoked' && r.decidedBy ? { by: r.decidedBy } : {}) } : undefined);
    // Activation to the planned end is the time granted, extensions and shorter approvals included.
    const activatedAt = r.activatedAt ?? g.activatedAt;
    const grantedMs = activatedAt !== undefined && r.expiresAt !== undefined ? r.expiresAt - activatedAt : g.grantedMs;
    return { ...g, approval, grantedMs, ...(activatedAt !== undefined ? { activatedAt } : {}), ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}), ...(end ? { end } : {}) };
  });
  return { ...summary, grants: grants.sort(newestFirst), breakGlass: countBreakGlass(grants) };
}

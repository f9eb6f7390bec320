// The daily audit digest: what happened since the previous digest, summarised from the audit events and the
// grants they touched, with the chain head (a checkpoint outside Redis) and the standing-access report. Pure:
// the store reads, Slack words it (src/slack/digest-message.ts), src/audit/daily-digest.ts runs it once a day.
import type { AuditEvent, AuditEventType } from './audit-event.ts';
import type { Checkpoint } from './audit-chain.ts';
import { NOT_USED } from './connection-tracking.ts';
import type { AccessRequest } from './request-state.ts';
import type { StandingAccessEntry } from './standing-access.ts';

/** How many of the longest grants the digest names. */
export const LONGEST_GRANTS = 5;

export interface DigestInput {
  since: number;
  until: number;
  /** every audit event stored in [since, until], oldest first */
  events: readonly AuditEvent[];
  /** the grants the window's events name, and those active now (any order, duplicates allowed) */
  grants: readonly AccessRequest[];
  /** break-glass grants no owner has acknowledged yet */
  unacknowledged: readonly AccessRequest[];
  /** jump servers whose sshd log is read: only there "never used" means something */
  sshdLogJumpHosts: ReadonlySet<string>;
  chainHead?: Checkpoint;
  standing: readonly StandingAccessEntry[];
}

export interface DigestGrant {
  id: string;
  requester: string;
  host: string;
  jumpHost: string;
}

export interface HeldGrant extends DigestGrant {
  /** from activation to its end, or to the digest's end while it runs */
  heldMs: number;
  ongoing: boolean;
}

export interface ReviewDue extends DigestGrant {
  reviewBy: number;
  overdue: boolean;
}

/** A drift repair or a jump-host alert: which jump server, when, what. */
export interface JumpHostNote {
  jumpHost: string;
  at: number;
  detail: string;
}

export interface AuditDigest {
  since: number;
  until: number;
  /** events in the window by type (types with none are left out) */
  counts: Partial<Record<AuditEventType, number>>;
  /** refusals by code, most first (ties by code) */
  refusals: [code: string, count: number][];
  longest: HeldGrant[];
  /** grants that ended in the window without one connection (jump servers with sshdLog only) */
  unused: DigestGrant[];
  awaitingReview: ReviewDue[];
  driftRepaired: JumpHostNote[];
  alerts: JumpHostNote[];
  chainHead?: Checkpoint;
  standing: StandingAccessEntry[];
}

export function summarizeDigest(input: DigestInput): AuditDigest {
  const { since, until, events } = input;
  const counts: Partial<Record<AuditEventType, number>> = {};
  const refusals = new Map<string, number>();
  for (const e of events) {
    counts[e.type] = (counts[e.type] ?? 0) + 1;
    if (e.type === 'refused') refusals.set(e.code ?? 'unknown', (refusals.get(e.code ?? 'unknown') ?? 0) + 1);
  }
  const grants = [...new Map(input.grants.filter((g) => g.activatedAt !== undefined).map((g) => [g.id, g])).values()];
  const notes = (type: AuditEventType) => events.filter((e) => e.type === type).map((e) => ({ jumpHost: e.host ?? '', at: e.at, detail: e.detail ?? '' }));
  return {
    since,
    until,
    counts,
    refusals: [...refusals].sort(([a, n], [b, m]) => m - n || (a < b ? -1 : a > b ? 1 : 0)),
    longest: longestGrants(grants, until),
    unused: grants
      .filter((g) => g.endedAt !== undefined && g.endedAt >= since && g.endedAt <= until && input.sshdLogJumpHosts.has(g.jumpHost) && g.usage === NOT_USED)
      .sort((a, b) => a.endedAt! - b.endedAt!)
      .map(digestGrant),
    awaitingReview: input.unacknowledged
      .filter((g) => g.reviewBy !== undefined && g.acknowledgedBy === undefined)
      .sort((a, b) => a.reviewBy! - b.reviewBy!)
      .map((g) => ({ ...digestGrant(g), reviewBy: g.reviewBy!, overdue: g.reviewBy! <= until })),
    driftRepaired: notes('drift-repaired'),
    alerts: notes('jump-host-alert'),
    ...(input.chainHead ? { chainHead: input.chainHead } : {}),
    standing: [...input.standing],
  };
}

/** The grants held longest (activation to end, or to `until` while running), longest first. */
function longestGrants(grants: readonly AccessRequest[], until: number): HeldGrant[] {
  return grants
    .map((g) => {
      const ongoing = g.endedAt === undefined;
      return { ...digestGrant(g), heldMs: Math.max(0, Math.min(g.endedAt ?? until, until) - g.activatedAt!), ongoing };
    })
    .sort((a, b) => b.heldMs - a.heldMs || (a.id < b.id ? -1 : 1))
    .slice(0, LONGEST_GRANTS);
}

function digestGrant(g: AccessRequest): DigestGrant {
  return { id: g.id, requester: g.requester, host: g.host, jumpHost: g.jumpHost };
}

/** The calendar date ("2026-12-03") at `ms` in an IANA time zone: the day a digest belongs to. */
export function localDate(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(ms);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The cron pattern (minute hour, every day; with seconds first for "HH:MM:SS") of a digest time; the scheduler
 *  applies the time zone. */
export function digestCron(at: string): string {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(at);
  if (!m) throw new Error(`not a digest time "HH:MM": ${at}`);
  const minuteHour = `${Number(m[2])} ${Number(m[1])} * * *`;
  return m[3] === undefined ? minuteHour : `${Number(m[3])} ${minuteHour}`;
}

// What the broker decides from sshd's log (issue #12): the connections it follows, how a grant was used, which
// live sessions it must end, which logins no grant explains. Pure: events and times come in as data.
import { hostPort } from './ip-address.ts';
import { PendingTunnels } from './pending-tunnels.ts';
import type { ConnectionRecord, GrantUsage, PendingTunnel, SshdEvent } from './sshd-log.ts';

type Accepted = Extract<SshdEvent, { kind: 'accepted' }>;

/** What one read of the log leaves for the next: the live connections, and the tunnel lines whose process no line named yet. */
export interface FoldState {
  live: readonly ConnectionRecord[];
  pending: readonly PendingTunnel[];
}

/** The working state of one fold: records by id in the order they were first seen. */
interface Fold {
  jumpHost: string;
  records: Map<string, ConnectionRecord>;
  /** ids of the records not ended (a busy log has many more ended ones) */
  open: Set<string>;
  /** live records whose accepted line is in the batch again (a re-read): not there yet until that line */
  hidden: Set<string>;
  /** live records whose user child line is in the batch again: their child pid is not known yet until that line */
  childHidden: Set<string>;
  /** tunnel lines of processes nobody holds yet (a user child that logged before its monitor named it) */
  pending: PendingTunnels;
}

const idOf = (e: { pid: number; at: number }): string => `${e.pid}-${e.at}`;

/** Live, visible records whose monitor or user child is `pid`, the most recently started last. */
function holders(fold: Fold, pid: number): ConnectionRecord[] {
  return [...fold.open]
    .map((id) => fold.records.get(id)!)
    .filter((r) => !fold.hidden.has(r.id) && (r.monitorPid === pid || (r.childPid === pid && !fold.childHidden.has(r.id))))
    .sort((a, b) => a.startedAt - b.startedAt);
}

function end(fold: Fold, r: ConnectionRecord, at: number): void {
  fold.records.set(r.id, { ...r, endedAt: Math.max(at, r.startedAt), endedBy: 'closed' });
  fold.open.delete(r.id);
}

function accept(fold: Fold, e: Accepted): void {
  // The pid is a new monitor: tunnel lines an earlier process of that pid left unattributed were not this login's.
  fold.pending.take(e.pid);
  const id = idOf(e);
  if (fold.records.has(id)) {
    // A re-read line: nothing new, but what this line ended the first time it ends again.
    if (fold.hidden.delete(id)) for (const r of holders(fold, e.pid)) if (r.id !== id) end(fold, r, e.at);
    return;
  }
  // The pid is a new process now: whatever held it before is over.
  for (const r of holders(fold, e.pid)) end(fold, r, e.at);
  fold.records.set(id, { id, jumpHost: fold.jumpHost, monitorPid: e.pid, fingerprint: e.fingerprint, ip: e.ip, port: e.port, startedAt: e.at, targets: [] });
  fold.open.add(id);
}

function userChild(fold: Fold, e: Extract<SshdEvent, { kind: 'user-child' }>): void {
  if (e.child === e.pid) return;
  const r = holders(fold, e.pid)
    .filter((h) => h.monitorPid === e.pid)
    .pop();
  // The child is a new process: whatever held its pid before is over, whether or not its monitor is followed.
  for (const other of holders(fold, e.child)) if (other.id !== r?.id) end(fold, other, e.at);
  // Its tunnel lines logged before this line are its connection's (or nobody's followed: dropped).
  const early = fold.pending.take(e.child);
  if (!r) return;
  fold.childHidden.delete(r.id);
  fold.records.set(r.id, { ...r, childPid: e.child });
  attribute(fold, r.id, early);
}

/** Opens (or, denied, takes out) a tunnel target on a record. */
function tunnelOn(fold: Fold, id: string, e: PendingTunnel): void {
  const r = fold.records.get(id)!;
  const target = hostPort(e.host, e.port);
  const rest = r.targets.filter((t) => t !== target);
  const targets = e.kind === 'tunnel' ? [...rest, target].sort() : rest;
  fold.records.set(id, { ...r, targets });
}

/**
 * Tunnel lines kept while their process was nobody's, now known to be the record's (none from before its login).
 * Applied now, in their order: nothing else changed the record's targets meanwhile, as a connection's tunnel lines
 * all come from its user child (or, a root login having none, from its monitor, with no child line to wait for).
 */
function attribute(fold: Fold, id: string, lines: readonly PendingTunnel[]): void {
  const startedAt = fold.records.get(id)!.startedAt;
  for (const line of lines) if (line.at >= startedAt) tunnelOn(fold, id, line);
}

/**
 * The live records a close line ends: those of its process, or else the one with the remote address it names. A
 * user child's disconnect can reach the log before its monitor's "User child is on pid" line (two processes
 * writing at once, under load), when its pid is nobody's yet; the address (client IP and port, unique while the
 * connection is open) still says which connection it was, wherever the reads are split.
 */
function closedBy(fold: Fold, e: Extract<SshdEvent, { kind: 'closed' }>): ConnectionRecord[] {
  const byPid = holders(fold, e.pid);
  if (byPid.length > 0 || e.ip === undefined) return byPid;
  // Only a record whose child is not known yet: that is the race, and another sshd's connection from the same client
  // port (a journal holds every sshd of the machine) cannot end one whose processes are known.
  return [...fold.open]
    .map((id) => fold.records.get(id)!)
    .filter((r) => !fold.hidden.has(r.id) && r.childPid === undefined && r.ip === e.ip && r.port === e.port && r.startedAt <= e.at);
}

function applyEvent(fold: Fold, e: SshdEvent): void {
  fold.pending.age(e.at);
  if (e.kind === 'accepted') return accept(fold, e);
  if (e.kind === 'closed') {
    // The process is over: the tunnel lines kept for it belong to the connection this line ends by its address (the
    // same race: a child that logged before its monitor named it), or to nobody.
    const early = fold.pending.take(e.pid);
    for (const r of closedBy(fold, e)) {
      attribute(fold, r.id, early);
      end(fold, fold.records.get(r.id)!, e.at);
    }
    return;
  }
  if (e.kind === 'user-child') return userChild(fold, e);
  const r = holders(fold, e.pid).pop();
  if (r) tunnelOn(fold, r.id, e);
  else fold.pending.hold(e);
}

function sameRecord(a: ConnectionRecord, b: ConnectionRecord): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof ConnectionRecord)[]);
  return [...keys].every((k) => (k === 'targets' ? a.targets.join('\n') === b.targets.join('\n') : a[k] === b[k]));
}

/** Live records whose own user child line is in the batch again (a re-read). */
function rereadChildLines(live: ReadonlyMap<string, ConnectionRecord>, events: readonly SshdEvent[]): Set<string> {
  // Follow which login each monitor pid's lines belong to: before a login's accepted line, to an earlier one.
  const again = new Set(events.flatMap((e) => (e.kind === 'accepted' ? [idOf(e)] : [])));
  const current = new Map([...live.values()].filter((r) => !again.has(r.id)).map((r) => [r.monitorPid, r.id]));
  const found = new Set<string>();
  for (const e of events) {
    if (e.kind === 'accepted') current.set(e.pid, idOf(e));
    if (e.kind !== 'user-child') continue;
    const r = live.get(current.get(e.pid) ?? '');
    if (r?.childPid === e.child) found.add(r.id);
  }
  return found;
}

/**
 * Applies sshd events, in log order, to the live connections of one jump server; returns the records that are new
 * or changed (whole, ended ones included) and the tunnel lines to carry to the next read (store them with the
 * records and the position). Idempotent: folding a batch again over its own result changes nothing.
 * A returned record whose id is not in `live` is new to this fold, which may be a re-read line of a connection
 * that ended already: store it only if no record with that id exists, or a re-read would revive it.
 */
export function foldEvents(jumpHost: string, state: FoldState, events: readonly SshdEvent[]): { changed: ConnectionRecord[]; pending: PendingTunnel[] } {
  const before = new Map(state.live.filter((r) => r.endedAt === undefined).map((r) => [r.id, r]));
  // A re-read: what a line taught the first time it was read is not known before that line this time either.
  const fold: Fold = {
    jumpHost,
    records: new Map(before),
    open: new Set(before.keys()),
    hidden: new Set(events.flatMap((e) => (e.kind === 'accepted' && before.has(idOf(e)) ? [idOf(e)] : []))),
    childHidden: rereadChildLines(before, events),
    pending: new PendingTunnels(state.pending, events),
  };
  for (const e of events) applyEvent(fold, e);
  const changed = [...fold.records.values()].filter((r) => {
    const old = before.get(r.id);
    return old === undefined || !sameRecord(old, r);
  });
  return { changed, pending: fold.pending.list() };
}

/** Total length of the union of intervals. */
function unionLength(intervals: readonly [number, number][]): number {
  let total = 0;
  let reach = -Infinity;
  for (const [from, to] of [...intervals].sort((a, b) => a[0] - b[0])) {
    const start = Math.max(from, reach);
    if (to > start) total += to - start;
    reach = Math.max(reach, to);
  }
  return total;
}

const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/**
 * Whether a connection may have come under a grant activated at `activatedAt` (the broker's clock). A logged time
 * may lie up to `logResolutionMs` before the instant it stands for (whole-second syslog lines; and the jump server's
 * clock is not the broker's), so a login logged that much before the activation may be the grant's; but not one the
 * broker itself ended before the activation (that end time is the broker's clock): that was an earlier grant's
 * connection of the same key. (An end read from the log tells no more: it is never before the logged start.)
 */
function mayHaveComeUnder(c: ConnectionRecord, activatedAt: number, logResolutionMs: number): boolean {
  const endedBefore = c.endedBy === 'broker' && c.endedAt !== undefined && c.endedAt < activatedAt;
  return c.startedAt + logResolutionMs >= activatedAt && !endedBefore;
}

/**
 * How a grant was used: the connections of its key that started while it was active (see mayHaveComeUnder) and
 * either opened no tunnel yet or reached its target. Their other targets (another grant of the same key) are listed
 * too. The time used is counted within the grant's life.
 */
export function grantUsage(
  grant: { fingerprint: string; target: string; activatedAt: number; endedAt?: number },
  connections: readonly ConnectionRecord[],
  now: number,
  logResolutionMs: number,
): GrantUsage {
  const until = grant.endedAt ?? now;
  const used = connections.filter(
    (c) =>
      c.fingerprint === grant.fingerprint &&
      mayHaveComeUnder(c, grant.activatedAt, logResolutionMs) &&
      c.startedAt <= until &&
      (c.targets.length === 0 || c.targets.includes(grant.target)),
  );
  if (used.length === 0) return { connections: 0, usedMs: 0, sources: [], targets: [] };
  const open = used.map((c): [number, number] => [c.startedAt, c.endedAt ?? now]);
  return {
    connections: used.length,
    firstAt: Math.min(...open.map(([from]) => from)),
    lastAt: Math.max(...open.map(([, to]) => to)),
    usedMs: unionLength(open.map(([from, to]) => [Math.max(from, grant.activatedAt), Math.min(to, until)])),
    sources: sortedUnique(used.map((c) => c.ip)),
    targets: sortedUnique(used.flatMap((c) => c.targets)),
  };
}

/** "a, b, c and 2 more" */
function listOf(items: readonly string[]): string {
  const shown = items.slice(0, 3).join(', ');
  return items.length > 3 ? `${shown} and ${items.length - 3} more` : shown;
}

/** "under 1 min", "14 min", from 90 min on "1 h 30 min" (whole minutes, rounded down). */
function usedTime(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'under 1 min';
  if (minutes < 90) return `${minutes} min`;
  const rest = minutes % 60;
  return rest === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${rest} min`;
}

/** A grant's recorded usage when its key never logged in (the daily digest lists these grants). */
export const NOT_USED = 'not used';

/** One line for Slack and the audit trail: "not used", or "used 14 min in 3 connections from … to …". */
export function describeUsage(usage: GrantUsage): string {
  if (usage.connections === 0) return NOT_USED;
  const count = `${usage.connections} connection${usage.connections === 1 ? '' : 's'}`;
  const from = usage.sources.length > 0 ? ` from ${listOf(usage.sources)}` : '';
  const to = usage.targets.length > 0 ? ` to ${listOf(usage.targets)}` : '';
  return `used ${usedTime(usage.usedMs)} in ${count}${from}${to}`;
}

export interface SessionToEnd {
  connection: ConnectionRecord;
  /** the ended grants of the connection's key that were active when it started (may be empty) */
  grantIds: string[];
  why: 'no-active-grant' | 'target-not-granted' | 'grant-ended-targets-unknown';
}

function reasonToEnd(c: ConnectionRecord, granted: ReadonlySet<string>, endedGrantIds: readonly string[], targetsLogged: boolean): SessionToEnd['why'] | undefined {
  if (granted.size === 0) return 'no-active-grant';
  if (targetsLogged) return c.targets.some((t) => !granted.has(t)) ? 'target-not-granted' : undefined;
  return endedGrantIds.length > 0 ? 'grant-ended-targets-unknown' : undefined;
}

/**
 * The live connections the broker must end now. Only keys the broker put in the managed block and that are not
 * its own: any other key is someone's standing access. A key with no active grant here loses its connections;
 * with one, a connection that reached a target none of the key's active grants names (targets logged), or that
 * started under a grant that has ended since (targets not logged: the broker cannot tell which grant it used).
 */
export function sessionsToEnd(input: {
  live: readonly ConnectionRecord[];
  activeGrants: readonly { id: string; fingerprint: string; target: string }[];
  endedGrants: readonly { id: string; fingerprint: string; target: string; activatedAt: number; endedAt: number }[];
  blockFingerprints: ReadonlySet<string>;
  brokerFingerprints: ReadonlySet<string>;
  targetsLogged: boolean;
}): SessionToEnd[] {
  const out: SessionToEnd[] = [];
  for (const c of input.live) {
    if (c.endedAt !== undefined || input.brokerFingerprints.has(c.fingerprint) || !input.blockFingerprints.has(c.fingerprint)) continue;
    const granted = new Set(input.activeGrants.filter((g) => g.fingerprint === c.fingerprint).map((g) => g.target));
    const grantIds = input.endedGrants
      .filter((g) => g.fingerprint === c.fingerprint && g.activatedAt <= c.startedAt && c.startedAt <= g.endedAt)
      .map((g) => g.id)
      .sort();
    const why = reasonToEnd(c, granted, grantIds, input.targetsLogged);
    if (why) out.push({ connection: c, grantIds, why });
  }
  return out;
}

/**
 * Logins by a key of the managed block (not the broker's) that none of that key's grants explains: no grant active
 * when it started, the grace after a grant's end covering a login that raced the removal of its line.
 */
export function unexplainedLogins(input: {
  accepted: readonly ConnectionRecord[];
  grants: readonly { id: string; fingerprint: string; activatedAt: number; endedAt?: number }[];
  blockFingerprints: ReadonlySet<string>;
  brokerFingerprints: ReadonlySet<string>;
  graceMs: number;
}): ConnectionRecord[] {
  return input.accepted.filter(
    (c) =>
      input.blockFingerprints.has(c.fingerprint) &&
      !input.brokerFingerprints.has(c.fingerprint) &&
      !input.grants.some((g) => g.fingerprint === c.fingerprint && g.activatedAt <= c.startedAt && c.startedAt <= (g.endedAt ?? Infinity) + input.graceMs),
  );
}

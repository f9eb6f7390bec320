// Who actually connected, and live sessions ending with their grant. For each jump server with an sshdLog, a
// pass reads the log since the last position, stores what changed (connections, audit events, new position at
// once), then ends the live connections no active grant covers any more. A pass runs every pollMs, after every
// sync (a grant's line went: its sessions go next), and once more rescanMs after that, for a login that raced
// the line's removal. One pass per jump server at a time across replicas (a Redis lock).
import type { Logger } from 'pino';
import type { JumpHostConfig, Policy } from '../config/policy.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { Clock } from '../domain/clock.ts';
import { foldEvents, sessionsToEnd, unexplainedLogins } from '../domain/connection-tracking.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { LOG_TIME_RESOLUTION_MS, type ConnectionRecord, type SshdEvent } from '../domain/sshd-log.ts';
import { parseSshdMessage } from '../domain/sshd-log-parse.ts';
import type { ConnectionStore } from '../store/connection-store.ts';
import type { SyncLocks } from '../store/sync-lock.ts';
import type { RequestStore } from '../store/request-store.ts';
import type { StandingKeyStore } from '../store/standing-key-store.ts';
import { CoalescedRuns } from './coalesced-runs.ts';
import { grantTarget } from './connection-reports.ts';
import { readSshdLog, type LogAccess } from './sshd-log-reader.ts';
import { SessionEnder, type ProcessAccess } from './session-ender.ts';

/**
 * The grant a login came under: one active at that instant (the latest activated, if several), else one that had
 * just ended (the login raced its line's removal).
 */
function explainingGrant(grants: readonly AccessRequest[], c: ConnectionRecord): AccessRequest | undefined {
  const of = grants.filter((g) => g.keyFingerprint === c.fingerprint && g.activatedAt !== undefined && g.activatedAt - LOG_TIME_RESOLUTION_MS <= c.startedAt).sort((a, b) => b.activatedAt! - a.activatedAt!);
  return of.find((g) => c.startedAt <= (g.endedAt ?? Infinity)) ?? of.find((g) => c.startedAt <= g.endedAt! + LOGIN_RACE_GRACE_MS);
}

/** A login up to this long after its grant ended raced the line's removal: ended, not alerted. */
const LOGIN_RACE_GRACE_MS = 30_000;
/** Reads per pass at most (each up to the reader's size cap) before the next pass goes on. */
const MAX_READS_PER_PASS = 10;

export interface ConnectionWatchDeps {
  policy: Policy;
  access: LogAccess & ProcessAccess;
  store: ConnectionStore;
  requests: Pick<RequestStore, 'activeGrantIds' | 'getMany' | 'appendAudit'>;
  standing: Pick<StandingKeyStore, 'standingOn'>;
  /** one pass per jump server at a time across replicas */
  locks: Pick<SyncLocks, 'with'>;
  brokerFingerprints: ReadonlySet<string>;
  clock: Clock;
  logger: Logger;
  pollMs: number;
  rescanMs: number;
}

interface Slot {
  rescan?: NodeJS.Timeout;
}

export class ConnectionWatch {
  private readonly slots = new Map<string, Slot>();
  private readonly runs = new CoalescedRuns((name: string) => this.runPass(name));
  private readonly ender: SessionEnder;
  private poller?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly d: ConnectionWatchDeps) {
    this.ender = new SessionEnder(d.access);
  }

  private get watched(): JumpHostConfig[] {
    return this.d.policy.jumpHosts.filter((j) => j.sshdLog !== undefined);
  }

  start(): void {
    const tick = () => {
      for (const jh of this.watched) this.pass(jh.name).catch(() => undefined);
      if (!this.stopped) this.poller = setTimeout(tick, this.d.pollMs);
    };
    this.poller = setTimeout(tick, 0);
  }

  /** A grant's line may be gone (a sync wrote): pass now, and again after rescanMs for a login that raced it. */
  kick(jumpHost: string): void {
    if (this.stopped || !this.watched.some((j) => j.name === jumpHost)) return;
    this.pass(jumpHost).catch(() => undefined);
    const slot = this.slot(jumpHost);
    clearTimeout(slot.rescan);
    slot.rescan = setTimeout(() => this.pass(jumpHost).catch(() => undefined), this.d.rescanMs);
  }

  /** Resolves once a pass that started after this call has finished (passes of one jump server never overlap). */
  pass(jumpHost: string): Promise<void> {
    return this.runs.request(jumpHost);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.poller);
    for (const s of this.slots.values()) clearTimeout(s.rescan);
    await this.runs.settled();
  }

  private slot(name: string): Slot {
    let s = this.slots.get(name);
    if (!s) this.slots.set(name, (s = {}));
    return s;
  }

  private async runPass(name: string): Promise<void> {
    if (this.stopped) return;
    const jh = this.watched.find((j) => j.name === name);
    if (!jh) return;
    try {
      await this.d.locks.with(name, async () => {
        for (let i = 0; i < MAX_READS_PER_PASS && (await this.readOnce(jh)); i++);
        if (jh.endSessions) await this.endUncovered(jh);
      });
    } catch (err) {
      this.d.logger.warn({ err, jumpHost: name }, 'reading the sshd log failed; the next pass tries again');
      throw err;
    }
  }

  /** One read of the log: the connections it changed and the audit events they raise, stored with the new position. */
  private async readOnce(jh: JumpHostConfig): Promise<boolean> {
    const { store, clock } = this.d;
    const now = clock.now();
    const read = await readSshdLog(this.d.access, jh, jh.sshdLog!, await store.position(jh.name), now);
    const events = read.entries.flatMap((e): SshdEvent[] => {
      const event = parseSshdMessage(e);
      return event ? [event] : [];
    });
    const [live, pendingTunnels] = await Promise.all([store.live(jh.name), store.pendingTunnels(jh.name)]);
    const { changed, pending } = foldEvents(jh.name, { live, pending: pendingTunnels }, events);
    const before = new Set(live.map((c) => c.id));
    const audit = await this.auditNewConnections(jh, changed.filter((c) => !before.has(c.id)));
    await store.record(jh.name, { position: read.position, pending, records: changed, events: audit, targetsSeen: events.some((e) => e.kind === 'tunnel') });
    this.d.logger.debug({ jumpHost: jh.name, lines: read.entries.length, events: events.length, changed: changed.length, audited: audit.length, position: read.position.slice(0, 40) }, 'sshd log read');
    return read.more;
  }

  /** A `connection` event per new connection of a key in the block, and an alert for one no grant explains. */
  private async auditNewConnections(jh: JumpHostConfig, fresh: readonly ConnectionRecord[]): Promise<{ event: AuditEvent; connection: string }[]> {
    const block = await this.d.store.blockKeys(jh.name);
    const ours = fresh.filter((c) => block.has(c.fingerprint) && !this.d.brokerFingerprints.has(c.fingerprint));
    if (ours.length === 0) return [];
    const grants = await this.grantsOfKeys(jh.name, ours.map((c) => c.fingerprint));
    const grantRefs = grants.flatMap((g) => (g.keyFingerprint && g.activatedAt !== undefined ? [{ id: g.id, fingerprint: g.keyFingerprint, activatedAt: g.activatedAt - LOG_TIME_RESOLUTION_MS, endedAt: g.endedAt }] : []));
    const unexplained = new Set(
      unexplainedLogins({ accepted: ours, grants: grantRefs, blockFingerprints: block, brokerFingerprints: this.d.brokerFingerprints, graceMs: LOGIN_RACE_GRACE_MS }).map((c) => c.id),
    );
    return ours.map((c) => {
      if (unexplained.has(c.id)) {
        this.d.logger.error({ jumpHost: jh.name, fingerprint: c.fingerprint, ip: c.ip }, 'login by a jit-jump key that no grant explains');
        const detail = `login by key ${c.fingerprint} from ${c.ip} port ${c.port} at ${new Date(c.startedAt).toISOString()}: this key was in the managed block, but no active grant explains it`;
        return { connection: c.id, event: { type: 'jump-host-alert', at: c.startedAt, host: jh.name, detail } };
      }
      const g = explainingGrant(grants, c)!;
      const event: AuditEvent = { type: 'connection', at: c.startedAt, actor: g.requester, requestId: g.id, requester: g.requester, host: g.host, detail: `connected to jump server ${jh.name} from ${c.ip} port ${c.port}` };
      return { connection: c.id, event };
    });
  }

  /** Ends the live connections that no active grant covers now; each ended one is stored and audited. */
  private async endUncovered(jh: JumpHostConfig): Promise<void> {
    const { store, requests, clock, policy } = this.d;
    const live = await store.live(jh.name);
    if (live.length === 0) return;
    const now = clock.now();
    const [block, standing, targetsLogged, active] = await Promise.all([
      store.blockKeys(jh.name),
      this.d.standing.standingOn(jh.name),
      store.targetsLogged(jh.name),
      requests.getMany(await requests.activeGrantIds(jh.name, now)),
    ]);
    for (const fp of standing) block.delete(fp); // standing access outside the block is not the broker's to end
    const ended = (await this.grantsOfKeys(jh.name, [...new Set(live.map((c) => c.fingerprint))])).filter((g) => g.state !== 'active' && g.activatedAt !== undefined && g.endedAt !== undefined);
    const ref = (g: AccessRequest) => ({ id: g.id, fingerprint: g.keyFingerprint ?? '', target: grantTarget(policy, g) ?? '', activatedAt: (g.activatedAt ?? 0) - LOG_TIME_RESOLUTION_MS, endedAt: g.endedAt ?? 0 });
    const toEnd = sessionsToEnd({ live, activeGrants: active.filter((g) => g.keyFingerprint).map(ref), endedGrants: ended.map(ref), blockFingerprints: block, brokerFingerprints: this.d.brokerFingerprints, targetsLogged });
    const records: ConnectionRecord[] = [];
    const events: { event: AuditEvent }[] = [];
    for (const { connection: c, grantIds, why } of toEnd) {
      const outcome = await this.ender.end(jh, c).catch((err: unknown) => {
        this.d.logger.warn({ err, jumpHost: jh.name, connection: c.id }, 'could not end a live connection; the next pass tries again');
        return 'failed' as const;
      });
      if (outcome === 'failed' || outcome === 'no-child') continue;
      records.push({ ...c, endedAt: clock.now(), endedBy: outcome === 'ended' ? 'broker' : 'closed' });
      if (outcome !== 'ended') continue;
      const grant = ended.find((g) => grantIds.includes(g.id)) ?? ended.find((g) => g.keyFingerprint === c.fingerprint);
      const targets = c.targets.length ? ` to ${c.targets.join(', ')}` : '';
      const all = why === 'grant-ended-targets-unknown' ? ': this jump server does not log tunnel targets, so every connection of this key was ended (reconnect under a grant that remains)' : '';
      const detail = `ended the connection from ${c.ip} port ${c.port}${targets} on jump server ${jh.name} (sshd pid ${c.childPid}): its grant ended${all}`;
      events.push({ event: { type: 'session-ended', at: clock.now(), requestId: grant?.id, requester: grant?.requester, host: grant?.host, detail } });
      this.d.logger.info({ jumpHost: jh.name, connection: c.id, requestId: grant?.id, why }, 'ended a live connection');
    }
    if (records.length) await store.record(jh.name, { records, events, targetsSeen: false });
  }

  /** The grants rendered with these keys on this jump server, as they stand now. */
  private async grantsOfKeys(jumpHost: string, fingerprints: readonly string[]): Promise<AccessRequest[]> {
    const ids = (await Promise.all([...new Set(fingerprints)].map((fp) => this.d.store.grantIdsForKey(jumpHost, fp)))).flat();
    return this.d.requests.getMany([...new Set(ids)]);
  }
}

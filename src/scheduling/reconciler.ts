// The periodic repair: brings every request that a crash, a lost job or an outage left behind to the state it
// must be in, then syncs every jump server through the one sync path (orphan lines go, missing lines come
// back, hand edits are alerted by the sync). Every step is idempotent and atomic in the store, so a reconcile
// running on two replicas at once, or beside the normal flow, does nothing twice.
//
// The rule for stuck requests (no state is one a request cannot leave):
// - pending past the approval timeout → timed-out (its timeout job may never have been scheduled);
// - active past its expiry → expired (its revoke job may be late or lost; the line is already gone, since
//   expired grants are never rendered);
// - active (or ended) with its activation follow-up still owed after the grace period → the follow-up runs
//   here: revoke job scheduled, sync, exactly one activation message. `approved` is never stored: the last
//   approval moves a request from pending to active in one atomic step;
// - active on a retired jump server → revoked (reason "jump server retired"); once that server's block is empty
//   and no grant is active on it, its record is dropped and the audit channel is told the entry may go.
import type { Logger } from 'pino';
import type { Policy } from '../config/policy.ts';
import type { Clock } from '../domain/clock.ts';
import { forEveryJumpHost } from '../jumphost/every-jump-host.ts';
import type { JumpHostSync, SyncResult } from '../jumphost/jump-host-sync.ts';
import type { JumpHostRegistry } from '../store/jump-host-registry.ts';
import type { RequestStore } from '../store/request-store.ts';

export interface RecoveryActions {
  expire(requestId: string): Promise<unknown>;
  timeOut(requestId: string): Promise<void>;
  completeActivation(requestId: string): Promise<void>;
  /** true if this call ended the grant */
  endForRetiredJumpHost(requestId: string): Promise<boolean>;
  /** the reminder (or escalation) due now of an undecided request, once */
  remind?(requestId: string): Promise<void>;
  /** break-glass grants past their review without an acknowledgement escalate, once */
  reviewBreakGlass?(): Promise<void>;
}

export interface JumpHostReport {
  jumpHost: string;
  result?: SyncResult;
  error?: string;
}

export interface ReconcileReport {
  at: number;
  dryRun: boolean;
  timedOut: string[];
  expired: string[];
  activationsOwed: string[];
  /** active grants on retired jump servers (→ revoked) */
  retired: string[];
  jumpHosts: JumpHostReport[];
}

export class Reconciler {
  constructor(
    private readonly d: {
      policy: Policy;
      requests: RequestStore;
      sync: JumpHostSync;
      actions: RecoveryActions;
      /** the jump servers written to: a retired one is forgotten once emptied */
      registry?: Pick<JumpHostRegistry, 'forget'>;
      clock: Clock;
      logger: Logger;
      /** an activation follow-up younger than this is left to the replica that won the approval */
      activationGraceMs: number;
      /** the audit trail's retention by age */
      audit?: { trim(): Promise<void> };
    },
  ) {}

  /** What needs moving on now. */
  private async stuck(): Promise<Pick<ReconcileReport, 'timedOut' | 'expired' | 'activationsOwed' | 'retired'>> {
    const { requests, policy, clock } = this.d;
    const now = clock.now();
    const [timedOut, activationsOwed, ...overdue] = await Promise.all([
      requests.pendingCreatedBefore(now - policy.defaults.approvalTimeout),
      requests.activationsOwed(now - this.d.activationGraceMs),
      ...policy.jumpHosts.map((j) => requests.overdueGrantIds(j.name, now)),
    ]);
    const retired = await Promise.all(policy.jumpHosts.filter((j) => j.retired).map((j) => requests.activeGrantIds(j.name, now)));
    return { timedOut, expired: overdue.flat(), activationsOwed, retired: retired.flat() };
  }

  /** Requests undecided for at least the first reminder (or the escalation): each may have one due. */
  private undecidedLongEnough(): Promise<string[]> {
    const { remindAfter, escalateAfter } = this.d.policy.defaults;
    const first = Math.min(remindAfter > 0 ? remindAfter : Infinity, escalateAfter ?? Infinity);
    return first === Infinity ? Promise.resolve([]) : this.d.requests.pendingCreatedBefore(this.d.clock.now() - first);
  }

  async run(): Promise<ReconcileReport> {
    const { actions, sync, logger, clock } = this.d;
    const at = clock.now();
    const stuck = await this.stuck();
    const settle = async (what: string, ids: string[], act: (id: string) => Promise<void>) => {
      for (const id of ids) await act(id).catch((err: unknown) => logger.warn({ err, requestId: id }, `reconcile: ${what} failed`));
    };
    await settle('time-out', stuck.timedOut, (id) => actions.timeOut(id));
    await settle('expiry', stuck.expired, async (id) => void (await actions.expire(id)));
    await settle('activation follow-up', stuck.activationsOwed, (id) => actions.completeActivation(id));
    await settle('retirement', stuck.retired, async (id) => void (await actions.endForRetiredJumpHost(id)));
    if (actions.remind) await settle('reminder', await this.undecidedLongEnough(), (id) => actions.remind!(id));
    if (actions.reviewBreakGlass) await settle('break-glass review', ['all'], () => actions.reviewBreakGlass!());
    if (this.d.audit) await settle('audit retention', ['all'], () => this.d.audit!.trim());
    const jumpHosts = await forEveryJumpHost(
      this.d.policy.jumpHosts.map((j) => j.name),
      async (name): Promise<JumpHostReport> => {
        try {
          return { jumpHost: name, result: await sync.sync(name) };
        } catch (err) {
          return { jumpHost: name, error: (err as Error).message };
        }
      },
    );
    await this.forgetEmptiedRetired(jumpHosts);
    await this.d.requests.recordReconcile(clock.now());
    const report = { at, dryRun: false, ...stuck, jumpHosts };
    const changed =
      stuck.timedOut.length + stuck.expired.length + stuck.activationsOwed.length + stuck.retired.length + jumpHosts.filter((j) => j.result?.changed || j.error).length;
    logger[changed ? 'info' : 'debug'](summary(report), 'reconcile done');
    return report;
  }

  /**
   * A retired jump server whose block a sync has just emptied, with no grant active on it, is forgotten: one
   * log and audit line (across replicas) says its entry may now be removed from the policy.
   */
  private async forgetEmptiedRetired(reports: readonly JumpHostReport[]): Promise<void> {
    const { policy, requests, registry, clock, logger } = this.d;
    for (const r of reports) {
      if (!policy.jumpHosts.some((j) => j.name === r.jumpHost && j.retired) || !r.result || r.result.lines > 0) continue;
      if ((await requests.activeGrantIds(r.jumpHost, clock.now())).length > 0) continue;
      if (!(await registry?.forget(r.jumpHost))) continue;
      const detail = 'retired: its managed block is empty and no grant is active on it; the entry may now be removed from the policy';
      logger.info({ jumpHost: r.jumpHost }, `jump server ${r.jumpHost} ${detail}`);
      await requests.appendAudit({ type: 'jump-host-alert', at: clock.now(), host: r.jumpHost, detail });
    }
  }

  /** The same, without changing anything (reconcile --dry-run). */
  async plan(): Promise<ReconcileReport> {
    const at = this.d.clock.now();
    const stuck = await this.stuck();
    const results = await Promise.allSettled(this.d.policy.jumpHosts.map((j) => this.d.sync.preview(j.name)));
    const jumpHosts = results.map((r, i): JumpHostReport => {
      const jumpHost = this.d.policy.jumpHosts[i]!.name;
      return r.status === 'fulfilled' ? { jumpHost, result: r.value } : { jumpHost, error: (r.reason as Error).message };
    });
    return { at, dryRun: true, ...stuck, jumpHosts };
  }
}

function summary(r: ReconcileReport): Record<string, unknown> {
  return {
    timedOut: r.timedOut.length,
    expired: r.expired.length,
    activationsOwed: r.activationsOwed.length,
    retired: r.retired.length,
    jumpHosts: r.jumpHosts.map((j) =>
      j.error
        ? { jumpHost: j.jumpHost, error: j.error }
        : { jumpHost: j.jumpHost, removed: j.result!.removedLines.length, added: j.result!.addedLines.length, handEdited: j.result!.handEditedLines.length },
    ),
  };
}

/** The dry-run report as an operator reads it. */
export function formatReconcileReport(r: ReconcileReport): string {
  const out: string[] = [`reconcile ${r.dryRun ? 'dry run' : 'run'} at ${new Date(r.at).toISOString()}`];
  const ids = (what: string, list: string[]) => out.push(`  ${what}: ${list.length ? list.join(', ') : 'none'}`);
  out.push('requests:');
  ids(`pending past the approval timeout (→ timed-out)`, r.timedOut);
  ids(`active past their expiry (→ expired)`, r.expired);
  ids(`activation follow-up owed (→ jobs, sync, connect instructions)`, r.activationsOwed);
  ids(`active on a retired jump server (→ revoked)`, r.retired);
  for (const j of r.jumpHosts) {
    out.push(`jump host ${j.jumpHost}:`);
    if (j.error) {
      out.push(`  unreachable: ${j.error}`);
      continue;
    }
    const s = j.result!;
    const handEdited = new Set(s.handEditedLines);
    const orphans = s.removedLines.filter((l) => !handEdited.has(l));
    if (!s.removedLines.length && !s.addedLines.length && !s.blockDamaged) out.push(`  in line with the active grants (${s.lines} line(s))`);
    if (s.blockDamaged) out.push(`  block markers damaged: the block would be rebuilt (${s.repair.dropped} jit-jump line(s) removed, ${s.repair.kept} other line(s) kept)`);
    for (const l of orphans) out.push(`  - remove (no active grant): ${lineSummary(l)}`);
    for (const l of s.handEditedLines) out.push(`  - remove (not written by jit-jump, edited by hand): ${lineSummary(l)}`);
    for (const l of s.addedLines) out.push(`  + add (active grant missing): ${lineSummary(l)}`);
  }
  return out.join('\n');
}

/** A key line shortened for a terminal: options, key type, the start of the key, the comment. */
function lineSummary(line: string): string {
  const m = /^(.*?)\s*((?:ssh-|ecdsa-|sk-)\S+) (\S{0,16})\S*\s*(.*)$/.exec(line);
  return m ? `${m[1]} ${m[2]} ${m[3]}… ${m[4]}`.trim() : line.slice(0, 120);
}

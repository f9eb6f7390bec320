// The one code path that changes a jump server: render the desired block from the store, write it if different.
// At most one sync per jump host runs at a time in this process (calls made while one runs share the next run)
// and, through a Redis lock around render + write, across replicas: a sync always renders after the previous
// one wrote, so an older rendering can never be written over a newer one.
// The same path repairs drift: orphan lines go, missing lines come back, lines nobody rendered are alerted.
import type { Logger } from 'pino';
import type { JumpHostConfig, Policy } from '../config/policy.ts';
import type { Clock } from '../domain/clock.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { renderableGrants } from '../domain/desired-block.ts';
import { blockGeneration, grantIdsOfLine, lineChanges, parseAuthorizedKeys, renderInFormats, renderKeyLines, spliceManagedBlock, splitRenderable, type ExpiryFormat, type RenderableGrant, type UnrenderableGrant } from '../domain/managed-block.ts';
import { identityOf } from '../domain/retirement.ts';
import { fingerprintOfLine, screenStandingKeys, standingFingerprints, type ScreenedGrants } from '../domain/standing-keys.ts';
import { lineHash } from '../store/jump-host-state.ts';
import { CoalescedRuns } from './coalesced-runs.ts';
import { forEveryJumpHost } from './every-jump-host.ts';
import { JumpHostUnavailableError, StaleBlockError } from './errors.ts';
import { supportsExpiryTime, supportsUtcExpiry } from './server-version.ts';
import type { JumpHostState } from '../store/jump-host-state.ts';
import type { JumpHostRegistry } from '../store/jump-host-registry.ts';
import type { RenderInputs, RequestStore } from '../store/request-store.ts';
import { allReads, NO_READ, type PipelinedRead } from '../store/pipelined-read.ts';
import type { StandingKeyStore } from '../store/standing-key-store.ts';
import type { SyncLocks } from '../store/sync-lock.ts';
import type { Observer } from '../observability/metrics.ts';
import { withOnlyLogFields } from '../logger.ts';

export interface OpenSshVersionInfo {
  raw?: string;
  openssh?: { major: number; minor: number };
}

export interface AuthorizedKeysUpdater {
  updateAuthorizedKeys(
    jh: JumpHostConfig,
    update: (current: string, server: OpenSshVersionInfo | undefined) => string,
    /** `beforeRename` sees the file again right before the rename, and throws to refuse replacing it; the file
     *  is replaced only once `ready` has resolved; `stale` true then: rendered again (once) before the rename */
    guard?: { beforeRename?: (current: string) => void; ready?: Promise<unknown>; stale?: () => boolean },
  ): Promise<{ changed: boolean; before: string; after: string }>;
}

export interface SyncResult {
  jumpHost: string;
  changed: boolean;
  lines: number;
  grantIds: string[];
  /** key lines that stood in the block but that the broker would not render now (orphans and hand edits) */
  removedLines: string[];
  /** lines of active grants the block lacked (restored) */
  addedLines: string[];
  /** lines inside the block the broker did not write (edited by hand): removed, and alerted */
  handEditedLines: string[];
  /** the BEGIN/END markers did not pair up (edited by hand): the block was rebuilt, and alerted */
  blockDamaged: boolean;
  /** active grants not rendered because their key stands outside the block (or is a broker key) */
  skippedStanding: ScreenedGrants['skipped'];
  /** damaged markers only: lines taken out (written by jit-jump or of its exact shape) and lines kept as they were */
  repair: { dropped: number; kept: number };
  /** active grants the renderer refused (corrupt stored values): left out of the block, alerted once each */
  unrenderable: UnrenderableGrant[];
  expiryFormat: ExpiryFormat;
  /** nothing was written (reconcile --dry-run) */
  dryRun: boolean;
}

export function expiryFormatFor(server: OpenSshVersionInfo | undefined, jh: JumpHostConfig): ExpiryFormat {
  if (!server?.openssh) return 'utc'; // not OpenSSH or unknown banner: assume a current sshd, check-config warns
  if (supportsUtcExpiry(server)) return 'utc';
  if (supportsExpiryTime(server) && jh.utcExpiryOnOldServers) return 'local';
  return 'none';
}

const UNRENDERABLE_ALERT_QUIET_MS = 31 * 86_400_000;
/** The longest a write waits for its callers' `before` work (a revoke job add held up by a Redis failover). */
const GATE_WAIT_MS = 5000;

interface Slot {
  timer?: NodeJS.Timeout;
}

export class JumpHostSync {
  private readonly slots = new Map<string, Slot>();
  /** per jump server, what callers asked the next write to wait for (sync's `before`) */
  private readonly gates = new Map<string, Promise<unknown>[]>();
  // A sync serves every caller that asked meanwhile: its lines carry the jump server, not one caller's request.
  private readonly runs = new CoalescedRuns((name: string) => withOnlyLogFields({ jumpHost: name }, () => this.runWithRetry(name)));
  private stopped = false;
  /** jump servers whose last sync failed after its retries (their outage was logged once) */
  private readonly unreachable = new Set<string>();

  constructor(
    private readonly deps: {
      policy: Policy;
      requests: RequestStore;
      state: JumpHostState;
      /** remembers every jump server written to, so one that leaves the policy is not forgotten with lines on it */
      registry?: Pick<JumpHostRegistry, 'record'>;
      /** where keys stand outside the block (recorded at every sync) */
      standing: StandingKeyStore;
      /** fingerprints of the broker's own keys (every jump server's): never rendered */
      brokerKeys?: ReadonlySet<string>;
      lock: SyncLocks;
      updater: AuthorizedKeysUpdater;
      clock: Clock;
      logger: Logger;
      /** who connected and live sessions (connection-watch.ts): told of the grants a write may render, before it;
       *  and of every finished sync, after it (a line may be gone: its live sessions go next) */
      sessions?: { beforeWrite(jumpHost: string, grants: readonly RenderedKey[]): Promise<void>; synced(jumpHost: string): void };
      /** metrics: sync durations and errors, and when grants' lines arrive and leave */
      observer?: Observer;
      /** attempts per sync before the error is returned to the caller */
      attempts?: number;
      retryBaseMs?: number;
    },
  ) {}

  jumpHost(name: string): JumpHostConfig {
    const jh = this.deps.policy.jumpHosts.find((j) => j.name === name);
    if (!jh) throw new Error(`no jump host named ${name}`);
    return jh;
  }

  /**
   * Resolves once a sync that started after this call has finished. `before`: work that must be done before that
   * sync replaces the file (an activation's revoke job: the line never stands without its end scheduled); it is
   * waited for at most GATE_WAIT_MS, then the write goes ahead (what it guards is also covered otherwise).
   */
  sync(jumpHostName: string, before?: Promise<unknown>): Promise<SyncResult> {
    if (before) {
      const gates = this.gates.get(jumpHostName) ?? [];
      gates.push(before.catch(() => undefined));
      this.gates.set(jumpHostName, gates);
    }
    return this.runs.request(jumpHostName);
  }

  /** What the next run's write waits for (taken by the run when it starts: a later caller is served by the next run). */
  private takeGates(name: string): Promise<unknown> | undefined {
    const gates = this.gates.get(name);
    if (!gates) return undefined;
    this.gates.delete(name);
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((r) => (timer = setTimeout(r, GATE_WAIT_MS)));
    return Promise.race([Promise.all(gates), cap]).finally(() => clearTimeout(timer));
  }

  /** Every jump server of the policy, a few at a time (every-jump-host.ts). */
  syncAll(): Promise<SyncResult[]> {
    return forEveryJumpHost(this.deps.policy.jumpHosts.map((j) => j.name), (name) => this.sync(name));
  }

  /** What a sync of this jump server would change, without writing (reconcile --dry-run). */
  preview(jumpHostName: string): Promise<SyncResult> {
    return this.runOnce(jumpHostName, true);
  }

  private async runWithRetry(name: string): Promise<SyncResult> {
    const gate = this.takeGates(name);
    const attempts = this.deps.attempts ?? 4;
    const base = this.deps.retryBaseMs ?? 250;
    let staleRefusals = 0;
    const started = performance.now();
    const finished = (error: boolean) => this.deps.observer?.syncFinished(name, (performance.now() - started) / 1000, error);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.runOnce(name, false, gate);
        finished(false);
        if (this.unreachable.delete(name)) this.deps.logger.info({ jumpHost: name }, `jump server ${name} reachable again: synced`);
        this.armExpiryTimer(name).catch((err: unknown) => this.deps.logger.warn({ err, jumpHost: name }, 'could not arm the expiry timer'));
        return result;
      } catch (err) {
        // A write refused by its fencing token rendered from an old view: render again at once (the counter was
        // raised past the server's generation), without spending an attempt. Bounded, should it keep happening.
        if (err instanceof StaleBlockError && staleRefusals++ < 3 && !this.stopped) {
          attempt--;
          continue;
        }
        if (attempt >= attempts || this.stopped) {
          finished(true);
          // One line per outage (the reconcile pass and every grant change retry it), not one per failed sync.
          const first = !this.unreachable.has(name);
          this.unreachable.add(name);
          this.deps.logger[first ? 'error' : 'debug']({ err, jumpHost: name, attempt, retried: 'at every change and reconcile pass, until it works' }, 'jump host sync failed');
          // A host key mismatch is not an outage: the host-key alarm (host-key-alarm.ts) has already raised a
          // more specific alert with both fingerprints.
          if (err instanceof JumpHostUnavailableError)
            await this.alertUnreachable(name, err).catch((e: unknown) => this.deps.logger.warn({ err: e }, 'could not raise the jump host alert'));
          throw err;
        }
        // Exponential backoff with full jitter, so replicas and retries do not hammer a struggling server together.
        // maxDelayMs is logged so the growing backoff shows even where the jittered delay happens to shrink.
        const maxDelay = base * 2 ** (attempt - 1);
        const delay = Math.random() * maxDelay;
        this.deps.logger.debug({ err, jumpHost: name, attempt, delayMs: Math.round(delay), maxDelayMs: maxDelay }, 'jump host sync failed, retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Renders what the block should hold at this instant and writes it if the server differs. */
  private async runOnce(name: string, dryRun: boolean, gate?: Promise<unknown>): Promise<SyncResult> {
    const jh = this.jumpHost(name);
    const { requests, clock, updater, state } = this.deps;
    // Before the first write (awaited before the rename). Idempotent, so not under the lock: it overlaps the
    // lock's round trip. A retired server only loses lines, and keeps the identity it was recorded with.
    const registered = !dryRun && !jh.retired ? this.deps.registry?.record(name, identityOf(jh)) : undefined;
    registered?.catch(() => undefined);
    const body = async (lease: { check(): void } | undefined, inputs: SyncInputs): Promise<SyncResult> => {
      const { renderedAt } = inputs;
      const { grants, written, fencing, renderable, unrenderable, recorded } = this.prepare(name, inputs, dryRun);
      const r: Rendering = { lines: [], existing: [], blockDamaged: false, repair: { dropped: 0, kept: 0 }, format: 'utc', screened: { kept: renderable, skipped: [] }, standingInFile: new Set(), validUntil: Infinity, linesAt: renderedAt };
      const { generation, notOlder } = fencing;
      const started = Date.now();
      const ours = (l: string) => written.has(lineHash(l));
      // `stale`: a grant that ends while the write waits for its rename (a slow server, the gate) is rendered out
      // then, rather than renamed in for the expiry timer's sync, queued behind this one, to take out again.
      const { changed } = await this.fenced(name, () => updater.updateAuthorizedKeys(jh, (current, server) => {
        this.render(r, jh, renderable, current, server, ours);
        if (dryRun) return current;
        notOlder('read')(current);
        lease?.check(); // another replica may have taken over: never write a rendering older than its
        return spliceWithGeneration(current, r.lines, ours, generation);
      }, { beforeRename: notOlder('rename'), ready: Promise.all([recorded, gate, registered]), stale: () => clock.now() >= r.validUntil }));
      await recorded;
      const { lines, existing, screened } = r;
      const { removedLines, addedLines } = lineChanges(existing, lines);
      const handEditedLines = removedLines.filter((l) => !written.has(lineHash(l)));
      const result: SyncResult = { jumpHost: name, changed, lines: lines.length, grantIds: screened.kept.filter((g) => g.expiresAt > r.linesAt).map((g) => g.id), removedLines, addedLines, handEditedLines, blockDamaged: r.blockDamaged, skippedStanding: screened.skipped, repair: r.repair, unrenderable, expiryFormat: r.format, dryRun };
      this.deps.logger.debug({ jumpHost: name, changed, lines: lines.length, ms: Date.now() - started, dryRun }, 'jump host synced');
      if (dryRun) return result;
      // Independent of each other, and held under the lock: a sync queued behind this one (an expiry) waits for them.
      await Promise.all([
        changed && state.setWritten(name, lines),
        changed && this.deps.observer && this.observeLines(existing, screened.kept, grants).catch(() => undefined),
        this.deps.standing.record(name, r.standingInFile),
        requests.forgetEndedBefore(name, renderedAt),
        this.afterSuccess(name, result),
      ]);
      this.deps.sessions?.synced(name);
      return result;
    };
    const read = this.inputsRead(name, dryRun);
    return dryRun ? this.deps.lock.read(read).then((inputs) => body(undefined, inputs)) : this.deps.lock.withRead(name, read, body);
  }

  /**
   * Renders the block for the file as it is now (`current`), into `r`: at write time with a fresh clock, so a
   * grant that ended while we connected is left out; screened against the file being replaced, so a key standing
   * outside the block is never rendered; with damaged markers only lines the broker wrote (`ours`: recorded
   * hash) or of its exact shape are taken out.
   */
  private render(r: Rendering, jh: JumpHostConfig, renderable: readonly RenderableGrant[], current: string, server: OpenSshVersionInfo | undefined, ours: (line: string) => boolean): void {
    r.format = expiryFormatFor(server, jh);
    r.standingInFile = standingFingerprints(current, ours);
    r.screened = screenStandingKeys(renderable, new Set([...r.standingInFile, ...(this.deps.brokerKeys ?? [])]));
    r.linesAt = this.deps.clock.now();
    r.lines = renderKeyLines(r.screened.kept, r.linesAt, r.format);
    r.validUntil = earliestEnd(r.screened.kept, r.linesAt);
    const parsed = parseAuthorizedKeys(current, ours);
    r.existing = parsed.block ?? [];
    r.blockDamaged = parsed.damaged;
    if (parsed.damaged) r.repair = { dropped: parsed.dropped?.length ?? 0, kept: parsed.before.length };
  }

  /**
   * What a write renders from, as one read sent beside the taking of the sync lock (each round trip is on the
   * Approve → line path): the active grants and their key lines, the hashes of the lines written before, and the
   * write's fencing token (none in a dry run).
   */
  private inputsRead(name: string, dryRun: boolean): PipelinedRead<SyncInputs> {
    const { requests, state, clock } = this.deps;
    const parts = allReads(requests.renderInputsRead(name, () => clock.now()), state.writtenLineHashesRead(name), dryRun ? NO_READ : state.nextGenerationRead(name));
    return { ...parts, decode: (answers) => {
      const [{ grants, keyLines, renderedAt }, written, generation] = parts.decode(answers);
      return { grants, keyLines, renderedAt, written, generation };
    } };
  }

  /**
   * The grants to render, and the recording of every line the write may put in the block, whatever the server's
   * format: started here, beside the write, and awaited before the rename (and by the caller, also when nothing
   * was written).
   */
  private prepare(name: string, inputs: SyncInputs, dryRun: boolean) {
    const { policy, state } = this.deps;
    const { grants, keyLines, renderedAt, written } = inputs;
    // A grant the renderer refuses is left out and alerted: it must not block every other line's change.
    const { renderable, unrenderable } = splitRenderable(renderableGrants(policy, grants, keyLines), renderedAt);
    const recorded = dryRun
      ? undefined
      : Promise.all([
          state.recordWritten(name, renderInFormats(renderable, renderedAt, ['utc', 'local', 'none']).flat(), written),
          this.deps.sessions?.beforeWrite(name, renderedKeys(renderable, grants)),
        ]);
    recorded?.catch(() => undefined);
    return { grants, written, fencing: this.fence(name, inputs.generation), renderable, unrenderable, recorded };
  }

  /** How long after its start each grant's line arrived, and after its end each ended grant's line left. */
  private async observeLines(before: readonly string[], kept: readonly RenderableGrant[], rendered: readonly AccessRequest[]): Promise<void> {
    const observer = this.deps.observer!;
    const now = this.deps.clock.now();
    const wasThere = new Set(before.flatMap(grantIdsOfLine));
    const keptIds = new Set(kept.map((g) => g.id));
    const added = [...keptIds].filter((id) => !wasThere.has(id));
    const gone = [...wasThere].filter((id) => !keptIds.has(id));
    if (added.length === 0 && gone.length === 0) return;
    // The added grants were read for this render; only the ended ones are read again.
    const byId = new Map(rendered.map((g) => [g.id, g]));
    const addedGrants = added.flatMap((id) => byId.get(id) ?? []);
    for (const g of [...addedGrants, ...(gone.length ? await this.deps.requests.getMany(gone) : [])]) {
      if (keptIds.has(g.id)) {
        if (g.activatedAt !== undefined) observer.lineInstalled((now - g.activatedAt) / 1000);
      } else if (g.state === 'revoked' && g.endedAt !== undefined) observer.lineRemoved('revoked', (now - g.endedAt) / 1000);
      else if (g.expiresAt !== undefined && g.expiresAt <= now) observer.lineRemoved('expired', (now - g.expiresAt) / 1000);
      else if (g.endedAt !== undefined) observer.lineRemoved('other', (now - g.endedAt) / 1000);
    }
  }

  /**
   * The fencing token of this write, issued by Redis under the lock: the block it writes carries it, and it never
   * replaces a block that carries one as high (a newer write by a replica that took over). None in a dry run.
   */
  private fence(name: string, generation: number | undefined): { generation?: number; notOlder: (phase: 'read' | 'rename') => (file: string) => void } {
    const notOlder = (phase: 'read' | 'rename') => (file: string) => {
      const onServer = blockGeneration(file);
      if (generation !== undefined && onServer !== undefined && onServer >= generation) throw new StaleBlockError(name, generation, onServer, phase);
    };
    return { generation, notOlder };
  }

  /** Runs a write; a fencing refusal raises the counter past what the server holds, is logged and alerted. */
  private async fenced<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof StaleBlockError)) throw err;
      const { state, requests, clock, logger } = this.deps;
      await state.raiseGeneration(name, err.onServer);
      logger.warn({ jumpHost: name, generation: err.generation, onServer: err.onServer, phase: err.phase }, 'refused to replace a newer managed block; syncing again');
      // Seen right before the rename, it was a real race: this replica's write was late. Seen on reading, the
      // counter in Redis was behind the file (Redis restored or flushed): the log says so, nothing was at risk.
      if (err.phase === 'rename')
        await requests.appendAudit({
          type: 'jump-host-alert',
          at: clock.now(),
          host: name,
          detail: `a late write was refused: the block on the server carries generation ${err.onServer}, this write had ${err.generation} (another replica wrote after this one lost its lock). Synced again from the store`,
        });
      throw err;
    }
  }

  private async afterSuccess(name: string, r: SyncResult): Promise<void> {
    const { state, requests, clock, logger } = this.deps;
    const orphans = r.removedLines.length - r.handEditedLines.length;
    if (r.blockDamaged) {
      logger.warn({ jumpHost: name }, 'managed block markers were damaged');
      await requests.appendAudit({ type: 'jump-host-alert', at: clock.now(), host: name, detail: `the managed block markers were edited by hand (unpaired BEGIN/END): the block was rebuilt from the active grants; ${r.repair.dropped} line(s) jit-jump wrote removed, ${r.repair.kept} other line(s) kept as they were` });
    }
    for (const g of r.unrenderable) {
      logger.error({ jumpHost: name, grantId: g.id, reason: g.reason }, 'active grant cannot be rendered: left out of the block');
      // Once per grant, not on every sync; the claim outlives any grant the policy allows (30 days).
      if (await state.claimUnrenderableAlert(name, g.id, UNRENDERABLE_ALERT_QUIET_MS))
        await requests.appendAudit({
          type: 'jump-host-alert',
          at: clock.now(),
          host: name,
          detail: `active grant ${JSON.stringify(g.id.slice(0, 60))} cannot be rendered (${g.reason.slice(0, 160)}): it has no line in the block, the other lines were written. Revoke it, or repair its stored values`,
        });
    }
    if (r.handEditedLines.length) {
      logger.warn({ jumpHost: name, lines: r.handEditedLines.length }, 'managed block was edited by hand');
      await requests.appendAudit({
        type: 'jump-host-alert',
        at: clock.now(),
        host: name,
        detail: `the managed block held ${r.handEditedLines.length} line(s) jit-jump did not write (edited by hand): removed. Keys: ${describeKeys(r.handEditedLines)}`,
      });
    }
    for (const { fingerprint, grantIds } of r.skippedStanding) {
      if (!(await this.deps.standing.claimAlert(name, fingerprint))) continue;
      logger.warn({ jumpHost: name, fingerprint, grantIds }, 'key of an active grant stands outside the managed block: not rendered');
      await requests.appendAudit({
        type: 'jump-host-alert',
        at: clock.now(),
        host: name,
        detail: `key ${fingerprint} stands in authorized_keys outside the jit-jump block: this key has standing access outside jit-jump. Its grant(s) ${grantIds.join(', ')} were not installed; remove that line or have the person register another key`,
      });
    }
    // The block on the server was not what jit-jump wrote (hand edits, damaged markers): alerted above, and
    // recorded as the repair it was, so the digest and an export count repairs apart from alerts.
    if (r.blockDamaged || r.handEditedLines.length > 0)
      await requests.appendAudit({
        type: 'drift-repaired',
        at: clock.now(),
        host: name,
        detail: r.blockDamaged
          ? `block rebuilt from the active grants (markers damaged): ${r.repair.dropped} line(s) removed, ${r.lines} line(s) written`
          : `${r.handEditedLines.length} line(s) jit-jump did not write removed from the block; ${r.lines} line(s) for the active grants in place`,
      });
    if (orphans > 0 || r.addedLines.length > 0) logger.info({ jumpHost: name, removed: orphans, added: r.addedLines.length }, 'block brought in line with the active grants');
    if (await state.markUp(name)) {
      await requests.appendAudit({ type: 'jump-host-alert', at: clock.now(), host: name, detail: `reachable again; block synced (${r.lines} line(s) for ${r.grantIds.length} active grant(s))` });
    }
  }

  /** One alert per outage (across replicas): the host, and the grants whose lines it cannot change now. */
  private async alertUnreachable(name: string, err: unknown): Promise<void> {
    const { state, requests, clock } = this.deps;
    const now = clock.now();
    if (!(await state.markDown(name, now))) return;
    const [active, ended] = await Promise.all([requests.activeGrantIds(name, now), requests.endedGrantIds(name)]);
    const list = (ids: string[]) => (ids.length ? ids.slice(0, 20).join(', ') + (ids.length > 20 ? ` and ${ids.length - 20} more` : '') : 'none');
    await requests.appendAudit({
      type: 'jump-host-alert',
      at: now,
      host: name,
      detail:
        `unreachable after retries (${String((err as Error)?.message ?? err).slice(0, 160)}). ` +
        `Ended grants whose line may remain until it is back (sshd expiry-time still ends expired ones): ${list(ended)}. ` +
        `Active grants that cannot be installed or changed: ${list(active)}. The reconciler syncs it when it returns.`,
    });
  }

  /**
   * Re-syncs when the earliest rendered grant ends: this timer, not the revoke job, makes the line leave on time
   * (a delayed BullMQ job starts when Redis's blocking timeout fires, up to 1/hz late: 100 ms at Redis's default).
   * Every replica arms one per jump server; at the same instant their syncs queue on the sync lock and only the
   * first one replaces the file (the others find the block already as they would render it).
   */
  private async armExpiryTimer(name: string): Promise<void> {
    if (this.stopped) return;
    const next = await this.deps.requests.nextExpiry(name, this.deps.clock.now());
    let slot = this.slots.get(name);
    if (!slot) this.slots.set(name, (slot = {}));
    // Cleared after the read, so that two calls at once leave one timer, not two.
    clearTimeout(slot.timer);
    if (next === undefined || this.stopped) return;
    // 1 ms past the end: a grant is rendered until `now` reaches its end, and a Node timer may fire up to 1 ms
    // early. If it fires earlier still (a clock step), the sync finds the grant rendered and arms this timer again
    // for the rest: it never spins.
    const delay = Math.max(1, Math.min(next + 1 - this.deps.clock.now(), 2 ** 31 - 1));
    slot.timer = setTimeout(() => {
      this.sync(name).catch(() => undefined);
    }, delay);
    slot.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    await this.runs.settled();
  }
}

/** What a write rendered last (its function may run more than once: a file changed meanwhile, a stale rendering). */
interface Rendering {
  lines: string[];
  /** the block's lines in the file it replaced */
  existing: string[];
  blockDamaged: boolean;
  repair: { dropped: number; kept: number };
  format: ExpiryFormat;
  screened: ScreenedGrants;
  standingInFile: Set<string>;
  /** the earliest end among the grants rendered: the rendering is stale from then */
  validUntil: number;
  /** when the lines were rendered (grants ended by then are not in them) */
  linesAt: number;
}

/** What one sync renders from, read under its lock. */
interface SyncInputs extends RenderInputs {
  /** the instant the grants were read for: those ended by then are left out */
  renderedAt: number;
  /** hashes of every line jit-jump wrote to this block */
  written: Set<string>;
  /** the write's fencing token (none in a dry run) */
  generation: number | undefined;
}

/** A grant a write may render, with the fingerprint of the key its line holds. */
export interface RenderedKey {
  id: string;
  fingerprint: string;
  activatedAt: number;
}

function renderedKeys(renderable: readonly RenderableGrant[], grants: readonly AccessRequest[]): RenderedKey[] {
  const activated = new Map(grants.map((g) => [g.id, g.activatedAt])); // by id: a find per grant is O(n²)
  return renderable.flatMap((r) => {
    const fingerprint = fingerprintOfLine(r.publicKey);
    const activatedAt = activated.get(r.id);
    return fingerprint && activatedAt !== undefined ? [{ id: r.id, fingerprint, activatedAt }] : [];
  });
}

/** The earliest end among the grants a rendering at `now` holds (Infinity if none): the rendering is stale from then. */
function earliestEnd(grants: readonly RenderableGrant[], now: number): number {
  let earliest = Infinity;
  for (const g of grants) if (g.expiresAt > now && g.expiresAt < earliest) earliest = g.expiresAt;
  return earliest;
}

/** The file with the block holding `lines`; unchanged lines keep the block (and its generation) as it is, so a sync that changes nothing writes nothing. */
function spliceWithGeneration(current: string, lines: readonly string[], written: (line: string) => boolean, generation: number | undefined): string {
  const unchanged = spliceManagedBlock(current, lines, { written, generation: blockGeneration(current) });
  return unchanged === current ? current : spliceManagedBlock(current, lines, { written, generation });
}

/** Key types and comments of unknown lines, for the alert: enough to find them, never a whole key. */
function describeKeys(lines: readonly string[]): string {
  return lines
    .slice(0, 5)
    .map((l) => {
      const m = /(ssh-[a-z0-9-]+|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+) ([A-Za-z0-9+/=]{0,12})/.exec(l);
      return m ? `${m[1]} ${m[2]}…` : 'unparsable line';
    })
    .join('; ');
}

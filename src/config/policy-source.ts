// The running policy, and reading it again while the broker runs (SIGHUP, a change of the policy file). Every
// part of the broker reads `view`, a live view that always answers from the current policy, so a reload
// reaches the access flow, the jump-host sync, the reconciler and the connection watch at their next use.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { AuditEvent } from '../domain/audit-event.ts';
import { describePolicyDiff, planPolicyReload, type PolicyDiff } from '../domain/policy-reload.ts';
import { loadPolicy, type Policy } from './policy.ts';

/** What made the broker read the policy again. */
export type ReloadTrigger = 'SIGHUP' | 'file change';

export type ReloadOutcome =
  | { ok: true; trigger: ReloadTrigger; changed: boolean; diff: PolicyDiff; summary: string }
  /** the old policy stays; `repeated`: the same refusal as the last reload's (a file watch sees one file many times) */
  | { ok: false; trigger: ReloadTrigger; message: string; repeated: boolean };

export class PolicySource {
  private policy: Policy;
  private lastRefusal: string | undefined;
  private readonly listeners = new Set<(outcome: ReloadOutcome) => void>();
  /** The current policy, read anew at every property access: hand this to the parts instead of a copy. */
  readonly view: Policy;

  constructor(
    initial: Policy,
    private readonly o: { path?: string; load?: (path: string) => Policy } = {},
  ) {
    this.policy = initial;
    this.view = liveView(() => this.policy);
  }

  current(): Policy {
    return this.policy;
  }

  /** Reads and validates the policy file; a valid one replaces the current policy, an invalid one changes nothing. */
  reload(trigger: ReloadTrigger): ReloadOutcome {
    const outcome = this.attempt(trigger);
    for (const listener of this.listeners) listener(outcome);
    return outcome;
  }

  private attempt(trigger: ReloadTrigger): ReloadOutcome {
    if (!this.o.path) return this.refused(trigger, 'the broker was started without a policy file');
    let next: Policy;
    try {
      next = (this.o.load ?? loadPolicy)(this.o.path);
    } catch (err) {
      return this.refused(trigger, err instanceof Error ? err.message : String(err));
    }
    const plan = planPolicyReload(this.policy, next);
    if (!plan.ok) return this.refused(trigger, `${this.o.path} cannot be applied while the broker runs:\n  ${plan.message}`);
    this.lastRefusal = undefined;
    if (plan.changed) this.policy = plan.policy;
    return { ok: true, trigger, changed: plan.changed, diff: plan.diff, summary: describePolicyDiff(plan.diff) };
  }

  private refused(trigger: ReloadTrigger, message: string): ReloadOutcome {
    const repeated = message === this.lastRefusal;
    this.lastRefusal = message;
    return { ok: false, trigger, message, repeated };
  }

  /** Called after every reload, applied or refused. Returns the unsubscribe. */
  onReload(listener: (outcome: ReloadOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reloads when the policy file changes. Watches its directory, not the file: editors and config management
   * replace a file by renaming another over it (a watch on the file would stay on the old one), and a
   * Kubernetes ConfigMap swaps a `..data` link. Events come in bursts: one reload once they stop for `debounceMs`.
   * Returns the stop.
   */
  watchFile(onError: (err: Error) => void, debounceMs = 200): () => void {
    const path = this.o.path;
    if (!path) return () => undefined;
    const name = basename(path);
    let timer: NodeJS.Timeout | undefined;
    const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name && !String(file).startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(() => this.reload('file change'), debounceMs);
    });
    watcher.on('error', onError);
    return () => {
      clearTimeout(timer);
      watcher.close();
    };
  }
}

/**
 * A Policy whose every property is read from `current()` at the time of the read. Read-only: a part that tried
 * to change the policy would throw.
 */
function liveView(current: () => Policy): Policy {
  return new Proxy({} as Policy, {
    get: (_target, key) => Reflect.get(current(), key),
    has: (_target, key) => Reflect.has(current(), key),
    ownKeys: () => Reflect.ownKeys(current()),
    getOwnPropertyDescriptor: (_target, key) => {
      const d = Reflect.getOwnPropertyDescriptor(current(), key);
      return d && { ...d, configurable: true };
    },
    set: () => false,
    deleteProperty: () => false,
    defineProperty: () => false,
  });
}

/**
 * Tells of every reload: the log, and the audit channel through an audit event. Applied with changes: a
 * `policy-reloaded` event whose detail is the one-line summary. Refused: a `refused` event with code
 * `policy-invalid` naming the field (a file watch that sees the same broken file again posts it once).
 * Nothing changed: the log only.
 */
export function announceReloads(
  source: PolicySource,
  d: { audit: (e: AuditEvent) => Promise<void>; now: () => number; logger: Pick<Logger, 'info' | 'warn' | 'error'> },
): () => void {
  return source.onReload((r) => {
    let event: AuditEvent | undefined;
    if (!r.ok) {
      d.logger.error({ trigger: r.trigger, reason: r.message }, 'policy not reloaded: the old policy stays');
      if (!r.repeated || r.trigger === 'SIGHUP')
        event = { type: 'refused', code: 'policy-invalid', at: d.now(), detail: `policy reload (${r.trigger}) refused, the old policy stays: ${r.message}` };
    } else if (!r.changed) {
      d.logger.info({ trigger: r.trigger }, 'policy read again: nothing changed');
    } else {
      d.logger.info({ trigger: r.trigger, changes: r.summary }, 'policy reloaded');
      if (r.diff.needRestart.length) d.logger.warn({ needRestart: r.diff.needRestart }, 'policy changes that apply only after a restart: the old values stay until then');
      event = { type: 'policy-reloaded', at: d.now(), detail: `${r.trigger}: ${r.summary}` };
    }
    if (event) d.audit(event).catch((err: unknown) => d.logger.warn({ err }, 'could not record the policy reload in the audit stream'));
  });
}

// In-memory stand-ins for the edges the use cases call out to: the jump-host sync, the notifier, jobs,
// owners, rate limits and the clock. Each records what it was asked, for the tests to read.
import type { JumpHostConfig, Policy } from '../../../src/config/policy.ts';
import type { ConnectInstructions } from '../../../src/domain/connect-instructions.ts';
import type { AccessRequest, MessageRef } from '../../../src/domain/request-state.ts';
import type { RequestStep } from '../../../src/domain/request-step.ts';
import { ok, refuse } from '../../../src/domain/result.ts';
import type { BlockSync, Clock, AccessJobName, JobScheduler, Notifier, OwnerDirectory, OwnerSet, RateLimitKind, RateLimits } from '../../../src/service/ports.ts';
import type { InMemoryKeys } from './keys.ts';
import type { InMemoryRequests } from './requests.ts';

export class ManualClock implements Clock {
  constructor(public t = Date.UTC(2026, 10, 23, 9, 0, 0)) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Renders like JumpHostSync: active, unexpired grants of a host in the policy whose requester has the approved key. */
export class InMemoryBlockSync implements BlockSync {
  /** jump servers as each sync was asked for (at the call); `synced`: as each one ran, after its `before` */
  readonly asked: string[] = [];
  readonly synced: string[] = [];
  /** what each jump server's block holds now (grant ids) */
  readonly blocks = new Map<string, string[]>();
  failures = 0;
  /** fingerprints of keys standing outside the block: their grants are skipped, as JumpHostSync does */
  readonly standing = new Set<string>();

  constructor(private readonly d: { policy: Policy; requests: InMemoryRequests; keys: InMemoryKeys; clock: Clock }) {}

  async sync(jumpHost: string, before?: Promise<unknown>): Promise<{ grantIds: string[]; skippedStanding: { fingerprint: string; grantIds: string[] }[] }> {
    this.asked.push(jumpHost);
    await before?.catch(() => undefined); // the write waits for it, as the real sync's does
    this.synced.push(jumpHost);
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`${jumpHost} unreachable`);
    }
    const now = this.d.clock.now();
    const grantIds = [...this.d.requests.requests.values()]
      .filter((r) => r.jumpHost === jumpHost && r.state === 'active' && (r.expiresAt ?? 0) > now)
      .filter((r) => this.d.policy.hosts.some((h) => h.name === r.host) && this.d.keys.keys.has(r.requester))
      // bound to the approved key, as renderableGrants does
      .filter((r) => r.keyFingerprint === undefined || this.d.keys.keys.get(r.requester)?.fingerprint === r.keyFingerprint);
    const fingerprintOf = (r: { requester: string }) => this.d.keys.keys.get(r.requester)!.fingerprint;
    const skippedStanding = grantIds.filter((r) => this.standing.has(fingerprintOf(r))).map((r) => ({ fingerprint: fingerprintOf(r), grantIds: [r.id] }));
    const kept = grantIds.filter((r) => !this.standing.has(fingerprintOf(r))).map((r) => r.id);
    this.blocks.set(jumpHost, kept);
    return { grantIds: kept, skippedStanding };
  }

  jumpHost(name: string): JumpHostConfig {
    const jh = this.d.policy.jumpHosts.find((j) => j.name === name);
    if (!jh) throw new Error(`no jump host named ${name}`);
    return jh;
  }
}

export type Notice =
  | { event: 'requestPending'; request: AccessRequest; owners: readonly string[] }
  | { event: 'approvalRecorded' | 'requestChanged'; request: AccessRequest; refs: readonly MessageRef[] }
  | { event: 'requestStep'; request: AccessRequest; step: RequestStep; refs: readonly MessageRef[] }
  | { event: 'grantActivated'; request: AccessRequest; instructions: ConnectInstructions }
  | { event: 'grantNotActivated' | 'requestDenied' | 'requestTimedOut' | 'requestCancelled' | 'grantEnded'; request: AccessRequest }
  | { event: 'expiryWarning'; request: AccessRequest; leftMs: number }
  | { event: 'grantExtended'; request: AccessRequest; extension: AccessRequest }
  | { event: 'reminder'; request: AccessRequest; waitedMs: number; to: readonly string[]; escalated: boolean };

export class RecordingNotifier implements Notifier {
  readonly notices: Notice[] = [];
  /** what activationMessageSent answers (an earlier attempt's message found in the DM history) */
  alreadySent = false;

  of(event: Notice['event'], requestId?: string): Notice[] {
    return this.notices.filter((n) => n.event === event && (requestId === undefined || n.request.id === requestId));
  }

  async requestPending(request: AccessRequest, owners: readonly string[]): Promise<MessageRef[]> {
    this.notices.push({ event: 'requestPending', request, owners });
    return owners.map((o, i) => ({ channel: `D${o}`, ts: `1.${i}` }));
  }
  approvalRecorded = async (request: AccessRequest, refs: readonly MessageRef[]) => void this.notices.push({ event: 'approvalRecorded', request, refs });
  requestChanged = async (request: AccessRequest, refs: readonly MessageRef[]) => void this.notices.push({ event: 'requestChanged', request, refs });
  requestStep = async (request: AccessRequest, step: RequestStep, refs: readonly MessageRef[]) => void this.notices.push({ event: 'requestStep', request, step, refs });
  grantActivated = async (request: AccessRequest, instructions: ConnectInstructions) => void this.notices.push({ event: 'grantActivated', request, instructions });
  grantNotActivated = async (request: AccessRequest) => void this.notices.push({ event: 'grantNotActivated', request });
  requestDenied = async (request: AccessRequest) => void this.notices.push({ event: 'requestDenied', request });
  requestTimedOut = async (request: AccessRequest) => void this.notices.push({ event: 'requestTimedOut', request });
  requestCancelled = async (request: AccessRequest) => void this.notices.push({ event: 'requestCancelled', request });
  grantEnded = async (request: AccessRequest) => void this.notices.push({ event: 'grantEnded', request });
  expiryWarning = async (request: AccessRequest, leftMs: number) => void this.notices.push({ event: 'expiryWarning', request, leftMs });
  grantExtended = async (request: AccessRequest, extension: AccessRequest) => void this.notices.push({ event: 'grantExtended', request, extension });
  reminder = async (request: AccessRequest, waitedMs: number, to: readonly string[], escalated: boolean) =>
    void this.notices.push({ event: 'reminder', request, waitedMs, to, escalated });
  activationMessageSent = async () => this.alreadySent;
  /** whose Home tab was told to change, one entry per call (apart from `notices`: no request of its own) */
  readonly homes: (readonly string[])[] = [];
  homeChanged = async (userIds: readonly string[]) => void this.homes.push([...userIds]);
}

export class InMemoryJobs implements JobScheduler {
  /** `${name}:${requestId}` → when it runs (scheduling again replaces) */
  readonly scheduled = new Map<string, number>();
  /** `${name}:${requestId}` → the grant end a revoke or warning job is for */
  readonly grantEnds = new Map<string, number>();
  async schedule(name: AccessJobName, requestId: string, at: number, _now?: number, grantEnd?: number): Promise<void> {
    this.scheduled.set(`${name}:${requestId}`, at);
    if (grantEnd !== undefined) this.grantEnds.set(`${name}:${requestId}`, grantEnd);
  }
  async cancel(name: AccessJobName, requestId: string): Promise<void> {
    this.scheduled.delete(`${name}:${requestId}`);
  }
}

/** User groups (S…) expand to their members; user ids stand for themselves. */
export class StaticOwners implements OwnerDirectory {
  /** set to make every expansion that names a group answer owners-unavailable (Slack failing past the grace) */
  groupsUnavailable = false;
  constructor(private readonly groups: Record<string, string[]> = {}) {}
  async expand(owners: readonly string[]): Promise<OwnerSet> {
    if (this.groupsUnavailable && owners.some((o) => o.startsWith('S'))) return refuse('owners-unavailable', 'groups unavailable');
    return ok(new Set(owners.flatMap((o) => this.groups[o] ?? (o.startsWith('S') ? [] : [o]))));
  }
}

/** A sliding window per person and kind, telling the first refusal of a window apart (like the Lua script). */
export class InMemoryRateLimits implements RateLimits {
  private readonly taken = new Map<string, number[]>();
  private readonly told = new Map<string, number>();
  async take(kind: RateLimitKind, user: string, limit: number, windowMs: number, now: number) {
    const key = `${kind}:${user}`;
    const inWindow = (this.taken.get(key) ?? []).filter((t) => t > now - windowMs);
    if (inWindow.length < limit) {
      this.taken.set(key, [...inWindow, now]);
      return { ok: true as const };
    }
    const firstRefusal = (this.told.get(key) ?? -Infinity) <= now - windowMs;
    if (firstRefusal) this.told.set(key, now);
    return { ok: false as const, retryAfterMs: inWindow[0]! + windowMs - now, firstRefusal };
  }
}

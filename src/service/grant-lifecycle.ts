// A grant's life after the last approval: activation follow-up (jobs, sync, one activation message), the
// expiry warning, expiry, and the time-out of a request nobody decided. BullMQ jobs and the reconciler call
// these; each is idempotent.
import { connectInstructions } from '../domain/connect-instructions.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { RequestStep } from '../domain/request-step.ts';
import type { HeldLease } from '../domain/store-results.ts';
import type { ActivationLease, ServiceDeps } from './ports.ts';
import { confirmed, syncAhead, type SyncAhead } from './sync-ahead.ts';
import { auditEvent, showCurrentState, usageAtEnd } from './request-events.ts';

/**
 * The work owed once a grant is active: its end is scheduled and the key goes on the server (the write waits
 * for the schedule), then (in its turn) the rest of its jobs and exactly one activation message to the requester (the connect instructions, or why there are none).
 * Run by the replica that won the approval (`held`: the lease it took with the approval); if that one dies, its lease runs out and the reconciler runs it.
 * Idempotent: jobs have fixed ids, the sync renders from the store, and the activation stays owed (in the
 * store's activating index) until the message is sent.
 */
export async function completeActivation(d: ServiceDeps, requestId: string, held?: HeldLease, ahead?: SyncAhead): Promise<void> {
  try {
    await d.requests.withActivationLease(requestId, d.activationLeaseMs, (lease, req) => followUpActivation(d, requestId, lease, req, ahead), held);
  } finally {
    ahead?.proceed(); // not owed here (another replica runs it) or failed before the line: the sync must not wait
  }
}

async function followUpActivation(d: ServiceDeps, requestId: string, lease: ActivationLease, req: AccessRequest | undefined, ahead?: SyncAhead): Promise<void> {
  if (!req) return d.requests.finishActivation(requestId);
  const expiresAt = req.state === 'active' ? req.expiresAt : undefined;
  if (expiresAt !== undefined) await installLine(d, req, expiresAt, ahead);
  // The rest (jobs, messages) waits its turn behind other follow-ups: in a burst of approvals the lines go first.
  await (d.pace ?? now)(async () => {
    if (expiresAt !== undefined) await tidyJobs(d, req, expiresAt);
    const current = expiresAt !== undefined ? ((await d.requests.get(requestId)) ?? req) : req;
    // A replica that died after sending but before finishing leaves an attempt behind: look before sending again.
    const attempt = await d.requests.activationMessageAttempt(requestId);
    const sending = attempt === 1 || !(await d.notifier.activationMessageSent?.(current));
    if (sending) {
      // A follow-up that outlived its lease (a call hung) may have been taken over: it must not send as well.
      lease.check();
      await sendActivationMessage(d, current);
    }
    // Sent: finishing must not be lost to a Redis blip, or the reconciler would send it again.
    await retrying(() => d.requests.finishActivation(requestId), 30_000);
    // The approval thread hears of it with the activation message: once, from the attempt that sent it.
    await showCurrentState(d, requestId, sending ? activationStep(current) : undefined);
  });
}

const now = <T>(fn: () => Promise<T>): Promise<T> => fn();

/**
 * Puts the grant's line on the jump server: it is what the person waits for. Its revoke job is scheduled beside
 * the sync (its few ms of BullMQ work overlap the sync's round trips) and the write waits for it: the line never
 * stands without its end scheduled, so a crash right after the write leaves nothing to chance. A grant whose
 * line cannot be installed ends as failed (and anything half-installed is taken out). A revoke job that could
 * not be scheduled is thrown, after the sync: the activation stays owed and is run again. `ahead`: the sync the
 * approval asked for as it was sent (sync-ahead.ts), used instead of asking for one now.
 */
async function installLine(d: ServiceDeps, req: AccessRequest, expiresAt: number, ahead?: SyncAhead): Promise<void> {
  const { requests, clock, logger } = d;
  const { synced, proceed } = ahead?.jumpHost === req.jumpHost ? ahead : syncAhead(d.sync, req.jumpHost);
  const ending = d.jobs.schedule('revoke', req.id, expiresAt, clock.now(), expiresAt);
  proceed(ending);
  let keyChanged = false;
  try {
    // The sync asked for with the approval counts if it rendered this grant (sync-ahead.ts).
    const result = ahead ? await confirmed(d.sync, req.jumpHost, synced, (r) => r.grantIds.includes(req.id)) : await synced;
    if (!result.grantIds.includes(req.id) && (await requests.get(req.id))?.state === 'active' && expiresAt > clock.now()) {
      // Approved for one key while the person registered another (a race with the key-change path): never installed.
      const current = await d.keys.get(req.requester);
      keyChanged = req.keyFingerprint !== undefined && current?.fingerprint !== req.keyFingerprint;
      if (keyChanged) throw new Error(`the requester’s key changed after the request (approved ${req.keyFingerprint})`);
      const standing = result.skippedStanding?.find((s) => s.grantIds.includes(req.id));
      if (standing) throw new Error(`key ${standing.fingerprint} stands in authorized_keys outside the managed block (access outside jit-jump): not installed`);
      throw new Error('grant not rendered (key missing or host no longer in policy)');
    }
  } catch (err) {
    logger.error({ err, requestId: req.id }, 'activation failed');
    const detail = String((err as Error).message).slice(0, 200);
    const fields: Record<string, string | number> = { endedAt: clock.now(), ...(keyChanged ? { endReason: 'key-changed' } : {}) };
    const failed = await requests.transition(req, 'failed', auditEvent(d, 'failed', req, { detail }), fields);
    if (failed.ok) await d.sync.sync(req.jumpHost).catch(() => undefined); // take out anything half-installed
  }
  await ending;
}

/** Bookkeeping that does not gate access: the grant's expiry warning, and its request's time-out cancelled. */
async function tidyJobs(d: ServiceDeps, req: AccessRequest, expiresAt: number): Promise<void> {
  await Promise.all([d.jobs.cancel('timeout', req.id), scheduleExpiryWarning(d, req, expiresAt)]).catch((err: unknown) =>
    d.logger.warn({ err, requestId: req.id }, 'could not update jobs after activation'),
  );
}

/** The thread's step for an activation follow-up: none where the grant ended another way (that path told it). */
function activationStep(req: AccessRequest): RequestStep | undefined {
  if (req.state === 'active') return { kind: 'activated' };
  return req.state === 'failed' ? { kind: 'not-activated' } : undefined;
}

/** The requester is warned before the grant's end (`expiresAt`): only a grant long enough for a warning to mean something. */
export async function scheduleExpiryWarning(d: Pick<ServiceDeps, 'jobs' | 'clock' | 'policy'>, req: AccessRequest, expiresAt: number): Promise<void> {
  const now = d.clock.now();
  const warning = d.policy.defaults.expiryWarning;
  // Not a 5-minute grant warned at once. One warning job per end: an extended grant is warned before its new end.
  if (expiresAt - now > 2 * warning) await d.jobs.schedule('expiry-warning', req.id, expiresAt - warning, now, expiresAt);
}

async function sendActivationMessage(d: ServiceDeps, req: AccessRequest): Promise<void> {
  const host = d.policy.hosts.find((h) => h.name === req.host);
  if (req.state === 'active' && host) await d.notifier.grantActivated(req, connectInstructions(host, d.sync.jumpHost(req.jumpHost)));
  else await d.notifier.grantNotActivated(req);
}

/**
 * BullMQ: the grant's time is up. `grantEnd`: the end the job was scheduled for; if an extension has moved the
 * end since, the grant runs on and this returns the new end (the job waits for it), the line synced meanwhile.
 */
export async function expire(d: ServiceDeps, requestId: string, grantEnd?: number): Promise<number | undefined> {
  const req = await d.requests.get(requestId);
  if (!req) return undefined;
  const endedAt = d.clock.now();
  const moved = (end: number) => d.sync.sync(req.jumpHost).then(() => end);
  if (grantEnd !== undefined && req.state === 'active' && req.expiresAt !== undefined && req.expiresAt !== grantEnd) return moved(req.expiresAt);
  const used = req.state === 'active' ? await usageAtEnd(d, req, endedAt) : {};
  const event = auditEvent(d, 'expired', req, { detail: used.usage });
  const t = await d.requests.transition(req, 'expired', event, { endedAt, ...used }, { expiresAt: grantEnd });
  if (!t.ok && t.code === 'not-due') return moved(t.expiresAt);
  // The line goes before anyone is told it has (the jump server's expiry timer has usually taken it already).
  // Synced even if another path ended the grant: this may be a retry after a failed sync.
  const syncFailure = await d.sync.sync(req.jumpHost).then(() => undefined, (err: unknown) => err ?? new Error('sync failed'));
  if (t.ok) {
    // Told even if the sync failed: the grant has ended, and sshd refuses the key after its expiry-time anyway.
    await d.notifier.grantEnded({ ...req, state: 'expired', endedAt, ...used });
    await showCurrentState(d, req.id, { kind: 'expired' });
  }
  if (syncFailure !== undefined) throw syncFailure; // the job retries: the line goes when the server is back
  return undefined;
}

/**
 * The grant's jump server is retired (reconciler): the grant ends as `revoked` with its reason, the requester
 * and the audit channel are told, and its line goes with the next sync. Idempotent: only the move that wins tells.
 */
export async function endForRetiredJumpHost(d: ServiceDeps, requestId: string): Promise<boolean> {
  const req = await d.requests.get(requestId);
  if (!req) return false;
  const endedAt = d.clock.now();
  const endReason = 'jump-host-retired' as const;
  const used = req.state === 'active' ? await usageAtEnd(d, req, endedAt) : {};
  const detail = `jump server ${req.jumpHost}${used.usage ? `; ${used.usage}` : ''}`;
  const t = await d.requests.transition(req, 'revoked', auditEvent(d, 'revoked', req, { reason: RETIRED_REASON, detail }), { endedAt, endReason, ...used });
  if (!t.ok) return false;
  await d.jobs.cancel('revoke', req.id).catch((err: unknown) => d.logger.warn({ err, requestId }, 'could not cancel the revoke job'));
  await d.notifier.grantEnded({ ...req, state: 'revoked', endedAt, endReason, ...used });
  await showCurrentState(d, req.id, { kind: 'revoked' });
  return true;
}

/** The audited reason of a grant ended by its jump server's retirement. */
export const RETIRED_REASON = 'jump server retired';

/** BullMQ: nobody decided in time. */
export async function timeOut(d: ServiceDeps, requestId: string): Promise<void> {
  const req = await d.requests.get(requestId);
  if (!req) return;
  const endedAt = d.clock.now();
  const t = await d.requests.transition(req, 'timed-out', auditEvent(d, 'timed-out', req), { endedAt });
  if (!t.ok) return;
  await d.notifier.requestTimedOut({ ...req, state: 'timed-out', endedAt });
  await showCurrentState(d, req.id, { kind: 'timed-out' });
}

/** BullMQ: the grant ends soon. Only an active grant with time left is warned, and only for the end the job is for. */
export async function expiryWarning(d: ServiceDeps, requestId: string, grantEnd?: number): Promise<void> {
  const req = await d.requests.get(requestId);
  if (!req || req.state !== 'active' || req.expiresAt === undefined) return;
  // Extended since: the warning for its new end is another job.
  if (grantEnd !== undefined && grantEnd !== req.expiresAt) return;
  const left = req.expiresAt - d.clock.now();
  if (left > 0) await d.notifier.expiryWarning(req, left);
}

/** Retries `op` (a Redis write that must land) every 200 ms for up to `ms` (real time: this waits on Redis). */
async function retrying(op: () => Promise<void>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

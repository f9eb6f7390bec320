// What every use case does around a change to a request: the audit event that goes with it, showing the
// request's new state on every copy of its approval message, and telling the step in their threads.
import type { AuditEvent } from '../domain/audit-event.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { RequestStep } from '../domain/request-step.ts';
import type { ServiceDeps } from './ports.ts';

export function auditEvent(d: Pick<ServiceDeps, 'clock'>, type: AuditEvent['type'], req: AccessRequest, extra: Partial<AuditEvent> = {}): AuditEvent {
  const defined = Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
  return { type, at: d.clock.now(), requestId: req.id, requester: req.requester, host: req.host, ...defined };
}

/**
 * The grant's usage as it ends at `endedAt`, as the request field and audit detail that record it; nothing where
 * its jump server's log is not read. Never holds up the end: a failure to read it is logged, not thrown.
 */
export async function usageAtEnd(d: Pick<ServiceDeps, 'usage' | 'logger'>, req: AccessRequest, endedAt: number): Promise<{ usage?: string }> {
  try {
    const usage = await d.usage?.usage({ ...req, endedAt }, endedAt);
    return usage === undefined ? {} : { usage };
  } catch (err) {
    d.logger.warn({ err, requestId: req.id }, 'could not read how the grant was used');
    return {};
  }
}

/**
 * Re-reads the request (another replica may have moved it on) and shows that state on every copy, and to
 * everyone whose Home tab shows it: every change of a request passes through here. `step`: then tells that step
 * in the thread of every copy (worded from the request as re-read). Pass a step only from the code path that won
 * its atomic move, so that it is told once (a retry or a losing replica passes none). A grant that has ended
 * takes its waiting extension with it: cancelled, so its owners are no longer asked.
 */
export async function showCurrentState(
  d: Pick<ServiceDeps, 'requests' | 'notifier' | 'clock' | 'jobs' | 'policy' | 'owners' | 'logger'>,
  requestId: string,
  step?: RequestStep,
): Promise<void> {
  const [req, refs] = await Promise.all([d.requests.get(requestId), d.requests.messageRefs(requestId)]);
  if (!req) return;
  if (req.state === 'pending') await d.notifier.approvalRecorded(req, refs);
  else await d.notifier.requestChanged(req, refs);
  if (step && refs.length > 0) await d.notifier.requestStep(req, step, refs);
  await homesChanged(d, req);
  if (req.state !== 'active' && req.state !== 'pending' && req.pendingExtension) await endWaitingExtension(d, req, req.pendingExtension);
}

/**
 * Tells the notifier whose Home tab shows this request: its requester and the host's owners (user groups
 * expanded; a group that cannot be read now is left out). Never fails the change it follows: a failure is logged.
 */
export async function homesChanged(d: Pick<ServiceDeps, 'notifier' | 'policy' | 'owners' | 'logger'>, req: Pick<AccessRequest, 'id' | 'requester' | 'host'>, owners?: readonly string[]): Promise<void> {
  if (!d.notifier.homeChanged) return;
  try {
    const host = d.policy.hosts.find((h) => h.name === req.host);
    const expanded: readonly string[] = owners ?? (host ? await d.owners.expand(host.owners).then((o) => (o.ok ? [...o.value] : [])) : []);
    await d.notifier.homeChanged([...new Set([req.requester, ...expanded])]);
  } catch (err) {
    d.logger.warn({ err, requestId: req.id }, 'could not show the change on the Home tabs');
  }
}

/** The audited words of an extension ended because its grant ended first. */
export const GRANT_ENDED_FIRST = 'the grant ended before the extension was approved';

/** Ends an undecided extension whose grant has ended (`actor`: who tried to approve it, if anyone): the ended extension, if this call ended it. */
export async function cancelForEndedGrant(d: Pick<ServiceDeps, 'requests' | 'clock'>, extension: AccessRequest, actor?: string): Promise<AccessRequest | undefined> {
  const endedAt = d.clock.now();
  const event = auditEvent(d, 'cancelled', extension, { actor, detail: GRANT_ENDED_FIRST });
  const t = await d.requests.transition(extension, 'cancelled', event, { endReason: 'grant-ended', endedAt });
  return t.ok ? { ...extension, state: 'cancelled', endReason: 'grant-ended', endedAt } : undefined;
}

async function endWaitingExtension(d: Parameters<typeof showCurrentState>[0], grant: AccessRequest, extensionId: string): Promise<void> {
  const extension = await d.requests.get(extensionId);
  if (extension?.state !== 'pending' || !(await cancelForEndedGrant(d, extension))) return;
  await d.jobs.cancel('timeout', extension.id);
  await showCurrentState(d, extension.id, { kind: 'cancelled' });
}


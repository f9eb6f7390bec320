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
 * Re-reads the request (another replica may have moved it on) and shows that state on every copy; `step`: then
 * tells that step in the thread of every copy (worded from the request as re-read). Pass a step only from the
 * code path that won its atomic move, so that it is told once (a retry or a losing replica passes none).
 */
export async function showCurrentState(d: Pick<ServiceDeps, 'requests' | 'notifier'>, requestId: string, step?: RequestStep): Promise<void> {
  const [req, refs] = await Promise.all([d.requests.get(requestId), d.requests.messageRefs(requestId)]);
  if (!req) return;
  if (req.state === 'pending') await d.notifier.approvalRecorded(req, refs);
  else await d.notifier.requestChanged(req, refs);
  if (step && refs.length > 0) await d.notifier.requestStep(req, step, refs);
}


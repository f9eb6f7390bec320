// Refusals that are audited: an action refused on a request, a caller refused before any request, and the
// per-person rate limits. The audit event carries the refusal code; never the text that was sent.
import type { Action } from '../domain/authorization.ts';
import { formatDuration } from '../domain/duration.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { RefusalCode } from '../domain/result.ts';
import type { RateLimitKind, ServiceDeps } from './ports.ts';
import type { Reply } from './replies.ts';
import { auditEvent } from './request-events.ts';

type Deps = Pick<ServiceDeps, 'requests' | 'clock' | 'logger'>;

/** `actor` may not do `action` on `req`: logged and audited. */
export async function auditRefusal(d: Deps, req: AccessRequest, actor: string, action: Action, code: RefusalCode, message: string): Promise<void> {
  d.logger.info({ requestId: req.id, actor, action, code }, 'action refused');
  await d.requests.appendAudit(auditEvent(d, 'refused', req, { actor, code, detail: `${action}: ${message}` }));
}

/** A refusal that concerns no request (another workspace, a pasted private key, a rate limit). */
export async function auditCallerRefusal(d: Deps, actor: string, action: Action | 'slack-request', code: RefusalCode, detail: string): Promise<void> {
  d.logger.info({ actor, action, code, detail }, 'caller refused');
  await d.requests.appendAudit({ type: 'refused', at: d.clock.now(), actor, code, detail: `${action}: ${detail}` });
}

/** Takes one slot of the person's rate limit; the reply to send when none is left (audited once per window). */
export async function takeRateLimit(d: Deps & Pick<ServiceDeps, 'limits' | 'policy'>, kind: RateLimitKind, user: string): Promise<Reply | undefined> {
  if (!d.limits) return undefined;
  const { limits } = d.policy;
  const limit = kind === 'request' ? limits.requestsPerWindow : limits.keyChangesPerWindow;
  const r = await d.limits.take(kind, user, limit, limits.window, d.clock.now());
  if (r.ok) return undefined;
  const reply: Reply = { kind: 'rate-limited', what: kind, limit, windowMs: limits.window, retryAfterMs: r.retryAfterMs };
  if (r.firstRefusal) {
    const what = kind === 'request' ? 'requests' : 'key changes';
    await auditCallerRefusal(d, user, kind === 'request' ? 'request' : 'key-add', 'rate-limited', `rate limit: more than ${limit} ${what} per ${formatDuration(limits.window)}`);
  }
  return reply;
}

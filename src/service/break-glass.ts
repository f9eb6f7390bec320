// Break-glass: `/jump breakglass <host> [duration] <reason>` for the people the policy lists gives access at once,
// without an approval, for at most breakGlass.maxDuration. It is loud: the audit channel (`break-glass`), every
// owner of the host and the approval channel are told, and the owners' message carries Acknowledge: its post-hoc
// review, due within reviewWithin, after which it escalates to the audit channel. Anyone else is refused, audited.
import { authorize } from '../domain/authorization.ts';
import { formatDuration } from '../domain/duration.ts';
import { REQUEST_ID_PATTERN } from '../domain/ids.ts';
import { AUTO_APPROVER } from './auto-approve.ts';
import { completeActivation } from './grant-lifecycle.ts';
import type { ServiceDeps } from './ports.ts';
import { auditRefusal, takeRateLimit } from './refusals.ts';
import { refusedReply, type Outcome } from './replies.ts';
import { askOwners, decide, newRequest, type AccessAsked } from './request-access.ts';
import { auditEvent, showCurrentState } from './request-events.ts';

export async function breakGlass(d: ServiceDeps, user: string, asked: AccessAsked): Promise<Outcome> {
  const decided = await decide(d, user, asked, true);
  if (!decided.ok) return { reply: decided.reply };
  const { decision, key } = decided;
  if (decision.route !== 'break-glass') throw new Error('a break-glass ask decided otherwise');
  const limited = await takeRateLimit(d, 'request', user);
  if (limited) return { reply: limited };
  const { host, durationMs, reason, reviewWithinMs } = decision;
  const req = { ...newRequest(d, user, host, { durationMs, reason, requiredApprovals: 1, keyFingerprint: key?.fingerprint }), reviewBy: d.clock.now() + reviewWithinMs };
  // No cap on pending requests: nothing waits; the grant is made in the next step.
  await d.requests.createWithinCap(req, auditEvent(d, 'break-glass', req, { actor: user, durationMs, reason }), Number.MAX_SAFE_INTEGER);
  const now = d.clock.now();
  const rules = { approvalTimeoutMs: d.policy.defaults.approvalTimeout, maxDurationMs: durationMs, requiredApprovals: 1, maxTotalMs: durationMs };
  const granted = await d.requests.approve(req, AUTO_APPROVER, now, rules);
  if (!granted.ok || !granted.value.activated) throw new Error(`break-glass ${req.id} was not activated: ${granted.ok ? 'not active' : granted.message}`);
  const active = { ...req, state: 'active' as const, approvers: [AUTO_APPROVER], activatedAt: now, expiresAt: granted.value.expiresAt };
  return {
    reply: { kind: 'break-glass', id: req.id, host: host.name, durationMs, reviewWithinMs },
    // The grant first; the owners' alert (with Acknowledge) beside it.
    after: async () => void (await Promise.all([completeActivation(d, req.id), askOwners(d, active, host)])),
  };
}

/** An owner acknowledges a break-glass grant (its review): once; the owners' messages lose the button. */
export async function acknowledge(d: ServiceDeps, id: string, actor: string): Promise<Outcome> {
  if (!REQUEST_ID_PATTERN.test(id)) return { reply: { kind: 'not-an-id', text: id } };
  const req = await d.requests.get(id);
  if (!req?.reviewBy) return { reply: { kind: 'request-gone' } };
  const host = d.policy.hosts.find((h) => h.name === req.host);
  const owners = await d.owners.expand(host?.owners ?? []);
  if (!owners.ok) return { reply: { kind: 'refused', code: 'owners-unavailable', params: { host: req.host } } };
  const allowed = authorize('acknowledge', { actor, requester: req.requester, owners: owners.value, host: req.host });
  if (!allowed.ok) {
    await auditRefusal(d, req, actor, 'acknowledge', allowed.code, allowed.message);
    return { reply: refusedReply(allowed) };
  }
  const r = await d.requests.acknowledge(req, actor, d.clock.now(), auditEvent(d, 'break-glass-acknowledged', req, { actor }));
  if (!r.ok) return { reply: r.code === 'already' ? { kind: 'acknowledged', id, by: r.by } : { kind: 'request-gone' } };
  return { reply: { kind: 'acknowledged', id, by: actor }, after: () => showCurrentState(d, id) };
}

/** Reconciler: break-glass grants nobody acknowledged within reviewWithin escalate to the audit channel, once. */
export async function escalateOverdueReviews(d: ServiceDeps): Promise<void> {
  const within = d.policy.breakGlass?.reviewWithin;
  for (const id of await d.requests.overdueReviews(d.clock.now())) {
    const req = await d.requests.get(id);
    if (!req || req.acknowledgedBy || !(await d.requests.claimReminder(id, 'review', 400 * 86_400_000))) continue;
    const detail = `not acknowledged by an owner${within ? ` within ${formatDuration(within)}` : ''}`;
    await d.requests.appendAudit(auditEvent(d, 'break-glass-review-overdue', req, { detail }));
  }
}

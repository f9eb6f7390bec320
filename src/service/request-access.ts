// `/jump request <host> [duration] [reason]`: checked against the policy, rate-limited and capped, stored as
// pending with its time-out scheduled; the owners are asked after Slack has been answered.
import { decideAccess } from '../domain/access-decision.ts';
import { coversHost } from '../domain/auto-approval.ts';
import { hostRules } from '../domain/access-policy.ts';
import type { HostPolicy } from '../domain/policy.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome } from './replies.ts';
import { auditCallerRefusal, takeRateLimit } from './refusals.ts';
import { grantAutomatically } from './auto-approve.ts';
import { membershipOf } from './membership.ts';
import { completeActivation } from './grant-lifecycle.ts';
import { auditEvent, homesChanged } from './request-events.ts';

export interface AccessAsked {
  host: string;
  duration?: string;
  reason: string;
}

export async function requestAccess(d: ServiceDeps, user: string, asked: AccessAsked): Promise<Outcome> {
  const decided = await decide(d, user, asked);
  if (!decided.ok) return { reply: decided.reply };
  const { decision, key } = decided;
  // Every attempt counts against the rate limit, one refused by the pending cap too.
  const limited = await takeRateLimit(d, 'request', user);
  if (limited) return { reply: limited };
  const { host, durationMs, requiredApprovals, reason } = decision;
  const now = d.clock.now();
  const autoApproved = decision.route === 'auto-approved' ? decision.rule : undefined;
  // The grant is bound to this key: the owners see its fingerprint, and no other key is ever rendered for it.
  const req = newRequest(d, user, host, { durationMs, reason, requiredApprovals, keyFingerprint: key?.fingerprint, autoApproved });
  const max = d.policy.limits.maxPendingRequests;
  const created = await d.requests.createWithinCap(req, auditEvent(d, 'requested', req, { actor: user, durationMs, reason }), max);
  if (!created.ok) return { reply: { kind: 'too-many-pending', pending: created.pending, max } };
  await d.jobs.schedule('timeout', req.id, now + d.policy.defaults.approvalTimeout, now);
  if (autoApproved !== undefined && (await grantAutomatically(d, req, host)))
    return { reply: { kind: 'auto-approved', id: req.id, host: host.name, durationMs, rule: autoApproved }, after: () => completeActivation(d, req.id) };
  return {
    reply: { kind: 'request-sent', id: req.id, host: host.name, durationMs, requiredApprovals },
    after: () => askOwners(d, req, host),
  };
}

/** Refusals about who asks (not what they ask): audited, since nobody else sees them. */
const WHO_REFUSALS = new Set(['not-a-requester', 'requesters-unavailable', 'not-break-glass']);

/**
 * The access decision (domain/access-decision.ts) for this person and ask, the policy's user groups expanded
 * first; a refusal about who asks is audited. `breakGlass`: `/jump breakglass`.
 */
export async function decide(d: ServiceDeps, user: string, asked: AccessAsked, breakGlass = false) {
  const key = await d.keys.get(user);
  const host = d.policy.hosts.find((h) => h.name === asked.host);
  // Only the groups this decision can ask about: the host's requesters, and the break-glass list or the users of
  // the auto-approval rules that name this host.
  const rules = host ? d.policy.autoApprove.filter((r) => coversHost(r, host)) : [];
  const lists = [host && hostRules(d.policy, host).requesters, ...(breakGlass ? [d.policy.breakGlass?.users] : rules.map((r) => r.users))];
  const member = await membershipOf(d, user, lists);
  const ask = { user, hostName: asked.host, duration: asked.duration, reason: asked.reason, hasKey: key !== undefined, breakGlass };
  const decision = decideAccess(d.policy, ask, member, d.clock.now());
  if (decision.ok) return { ok: true as const, decision: decision.value, key };
  if (WHO_REFUSALS.has(decision.code)) await auditCallerRefusal(d, user, 'request', decision.code, `${breakGlass ? 'break-glass into ' : ''}${asked.host}: ${decision.message}`);
  return { ok: false as const, reply: refusedReply(decision) };
}

/** A new undecided request (or extension, with `extends`) by `requester` for `host`, made now. */
export function newRequest(
  d: Pick<ServiceDeps, 'newId' | 'clock'>,
  requester: string,
  host: HostPolicy,
  asked: Pick<AccessRequest, 'durationMs' | 'reason' | 'requiredApprovals' | 'keyFingerprint' | 'extends' | 'autoApproved'>,
): AccessRequest {
  const fields = Object.fromEntries(Object.entries(asked).filter(([, v]) => v !== undefined)) as typeof asked;
  return { id: d.newId(), requester, host: host.name, jumpHost: host.jumpHost, state: 'pending', createdAt: d.clock.now(), approvers: [], ...fields };
}

/** Posts the approval message of an undecided request (or extension) to the host's owners and remembers where. */
export async function askOwners(d: ServiceDeps, req: AccessRequest, host: HostPolicy): Promise<void> {
  // The requester is never asked to approve their own request, even when they own the host.
  const expanded = await d.owners.expand(host.owners);
  // Unverifiable groups get no DMs (the approval channel still does); deciding stays refused until they can be listed.
  if (!expanded.ok) d.logger.warn({ requestId: req.id, host: host.name, detail: expanded.message }, 'owners not DMed: user group unavailable');
  const owners = [...(expanded.ok ? expanded.value : [])].filter((o) => o !== req.requester);
  await d.requests.addMessageRefs(req.id, await d.notifier.requestPending(req, owners));
  await homesChanged(d, req, owners);
}

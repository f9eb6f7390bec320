// `/jump request <host> [duration] [reason]`: checked against the policy, rate-limited and capped, stored as
// pending with its time-out scheduled; the owners are asked after Slack has been answered.
import { checkRequester, evaluateRequest, hostRules } from '../domain/access-policy.ts';
import { refuse } from '../domain/result.ts';
import type { HostPolicy } from '../domain/policy.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome, type Reply } from './replies.ts';
import { auditCallerRefusal, takeRateLimit } from './refusals.ts';
import { autoApprovalRule, grantAutomatically } from './auto-approve.ts';
import { completeActivation } from './grant-lifecycle.ts';
import { auditEvent, homesChanged } from './request-events.ts';

export interface AccessAsked {
  host: string;
  duration?: string;
  reason: string;
}

export async function requestAccess(d: ServiceDeps, user: string, asked: AccessAsked): Promise<Outcome> {
  const key = await d.keys.get(user);
  const decision = evaluateRequest(d.policy, { hostName: asked.host, duration: asked.duration, reason: asked.reason, hasKey: key !== undefined, requester: user });
  // Who may ask comes before what they ask (a key, a reason): someone who may not request the host hears that first.
  const named = d.policy.hosts.find((h) => h.name === asked.host);
  const mayAsk = named && (await mayRequest(d, user, named));
  if (mayAsk) return { reply: mayAsk };
  if (!decision.ok) return { reply: refusedReply(decision) };
  // Every attempt counts against the rate limit, one refused by the pending cap too.
  const limited = await takeRateLimit(d, 'request', user);
  if (limited) return { reply: limited };
  const { host, durationMs, requiredApprovals, reason } = decision.value;
  const now = d.clock.now();
  // The grant is bound to this key: the owners see its fingerprint, and no other key is ever rendered for it.
  const autoApproved = await autoApprovalRule(d, user, host, durationMs);
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

/**
 * Whether `user` may request `host` (the policy's `requesters`, user groups expanded): the refusal to answer if
 * not, audited. A group Slack cannot list now refuses (fail closed), like an unverifiable owner.
 */
export async function mayRequest(d: ServiceDeps, user: string, host: HostPolicy): Promise<Reply | undefined> {
  const requesters = hostRules(d.policy, host).requesters;
  if (requesters === undefined) return undefined;
  const expanded = await d.owners.expand(requesters);
  const allowed = expanded.ok
    ? checkRequester(d.policy, host, user, expanded.value)
    : refuse('requesters-unavailable', expanded.message, { host: host.name });
  if (allowed.ok) return undefined;
  await auditCallerRefusal(d, user, 'request', allowed.code, `${host.name}: ${allowed.message}`);
  return refusedReply(allowed);
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

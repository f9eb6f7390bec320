// An owner's decision: Approve, or Deny with a reason (asked in a modal between prepareDeny and deny).
// Both go through one prelude: a well-formed id, a request that exists, and an actor allowed to decide on it.
import { approvalRules, checkDecider } from '../domain/access-policy.ts';
import { formatDuration } from '../domain/duration.ts';
import { REQUEST_ID_PATTERN } from '../domain/ids.ts';
import { isRetired } from '../domain/retirement.ts';
import { checkApprovedDuration } from '../domain/shorter-approval.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { HostPolicy } from '../domain/policy.ts';
import { clipCodePoints } from '../domain/user-text.ts';
import { followUpExtension } from './extend-grant.ts';
import { extensionOfEndedGrant, extensionOverTotal } from './extension-outcomes.ts';
import { completeActivation, timeOut } from './grant-lifecycle.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome, type Reply } from './replies.ts';
import { auditRefusal } from './refusals.ts';
import { auditEvent, showCurrentState } from './request-events.ts';
import { syncAhead } from './sync-ahead.ts';

type Loaded = { ok: true; req: AccessRequest; host: HostPolicy } | { ok: false; reply: Reply };

const GONE: Loaded = { ok: false, reply: { kind: 'request-gone' } };

/** The request `actor` wants to decide on, or the reply that says why they cannot (refusals are audited). */
async function loadForDecision(d: ServiceDeps, requestId: string, actor: string, action: 'approve' | 'deny'): Promise<Loaded> {
  if (!REQUEST_ID_PATTERN.test(requestId)) return GONE;
  const req = await d.requests.get(requestId);
  if (!req) return GONE;
  // A decided request cannot be denied; approving one is answered by the store, after the decider check.
  if (action === 'deny' && req.state !== 'pending') return { ok: false, reply: { kind: 'already', state: req.state } };
  const host = d.policy.hosts.find((h) => h.name === req.host);
  const owners = await d.owners.expand(host?.owners ?? []);
  if (!owners.ok) {
    await auditRefusal(d, req, actor, action, owners.code, owners.message);
    return { ok: false, reply: { kind: 'refused', code: 'owners-unavailable', params: { host: req.host } } };
  }
  const allowed = checkDecider(req, actor, owners.value, action);
  // A host gone from the policy has no owners: checkDecider refused above.
  if (allowed.ok && host) return { ok: true, req, host };
  if (allowed.ok) return GONE;
  await auditRefusal(d, req, actor, action, allowed.code, allowed.message);
  return { ok: false, reply: refusedReply(allowed) };
}

/**
 * An owner clicked Approve, for the asked time or (`approvedFor`, "30m") less: never more, never under
 * minDuration. The last required approval activates the grant, for the shortest time any approver chose; its
 * follow-up runs after the ack.
 */
export async function approve(d: ServiceDeps, requestId: string, actor: string, approvedFor?: string): Promise<Outcome> {
  const loaded = await loadForDecision(d, requestId, actor, 'approve');
  if (!loaded.ok) return { reply: loaded.reply };
  const { req, host } = loaded;
  // A retired jump server takes no new grants: a request made before it was retired stays undecided and times out.
  if (req.state === 'pending' && isRetired(d.policy, req.jumpHost)) {
    await auditRefusal(d, req, actor, 'approve', 'jump-host-retired', `jump server ${req.jumpHost} is retired`);
    return { reply: refusedReply({ code: 'jump-host-retired', params: { host: req.host, jumpHost: req.jumpHost } }) };
  }
  const chosen = checkApprovedDuration(req, approvedFor, d.policy.defaults.minDuration);
  if (!chosen.ok) {
    await auditRefusal(d, req, actor, 'approve', chosen.code, chosen.message);
    return { reply: refusedReply(chosen) };
  }
  const rules = approvalRules(d.policy, host);
  const approving = d.requests.approve(req, actor, d.clock.now(), rules, chosen.value, d.activationLeaseMs);
  // Asked for in this turn, behind the approval on the same connection (sync-ahead.ts), by the approval that
  // should activate (the last one needed; an extension's follow-up syncs itself): handed to the activation's
  // follow-up, or let go as soon as the approval turns out to be anything else.
  const ahead = !req.extends && req.approvers.length + 1 >= rules.requiredApprovals ? syncAhead(d.sync, req.jumpHost) : undefined;
  const result = await approving.catch((err: unknown) => {
    ahead?.proceed();
    throw err;
  });
  if (!(result.ok && result.value.activated)) ahead?.proceed();
  if (!result.ok) {
    switch (result.code) {
      case 'not-found':
        return { reply: { kind: 'request-gone' } };
      case 'self-approval':
        await auditRefusal(d, req, actor, 'approve', 'self-approval', 'own request');
        return { reply: { kind: 'self-approval' } };
      case 'already-approved':
        return { reply: { kind: 'already-approved' } };
      case 'conflict':
        return { reply: { kind: 'already', state: result.state } };
      case 'too-late': {
        // The time-out job is late or lost: time the request out now, so the requester hears of it.
        const params = { host: req.host, timeoutMs: rules.approvalTimeoutMs };
        await auditRefusal(d, req, actor, 'approve', 'approval-too-late', `past the approval deadline ${new Date(result.deadline).toISOString()}`);
        return { reply: { kind: 'refused', code: 'approval-too-late', params }, after: () => timeOut(d, req.id) };
      }
      case 'too-long':
        return refuseOverMaxDuration(d, req, actor, rules.maxDurationMs);
      case 'grant-ended':
        return extensionOfEndedGrant(d, req, actor);
      case 'over-total':
        return extensionOverTotal(d, req, actor, rules.maxTotalMs);
    }
  }
  const approved = result.value;
  // An extension's last approval moved its grant's end: the line is rewritten, the requester told.
  if ('extendedGrant' in approved)
    return { after: () => followUpExtension(d, approved.extendedGrant, { ...req, state: 'extended', approvers: [...req.approvers, actor], expiresAt: approved.expiresAt }) };
  if (!approved.activated) {
    const { approvals, required } = approved;
    return { reply: { kind: 'approval-recorded', approvals, required }, after: () => showCurrentState(d, req.id, { kind: 'approved', by: actor, approvals, required }) };
  }
  return { after: () => completeActivation(d, req.id, approved.lease, ahead) };
}

/**
 * The request asks for longer than its host allows now (the policy changed since it was made). Clamping would
 * grant a time nobody asked for; so it ends unapproved (`denied`, with the maximum of the time) and the
 * requester is told to request again within it.
 */
async function refuseOverMaxDuration(d: ServiceDeps, req: AccessRequest, actor: string, maxMs: number): Promise<Outcome> {
  const params = { host: req.host, durationMs: req.durationMs, maxMs };
  const detail = `asks for ${formatDuration(req.durationMs)}, maxDuration of ${req.host} is now ${formatDuration(maxMs)}`;
  await auditRefusal(d, req, actor, 'approve', 'approval-over-max-duration', detail);
  const endedAt = d.clock.now();
  const t = await d.requests.transition(req, 'denied', auditEvent(d, 'denied', req, { actor, detail }), { decidedBy: actor, policyMaxMs: maxMs, endedAt });
  const reply: Reply = { kind: 'refused', code: 'approval-over-max-duration', params };
  if (!t.ok) return { reply };
  return {
    reply,
    after: async () => {
      await d.jobs.cancel('timeout', req.id);
      await d.notifier.requestDenied({ ...req, state: 'denied', decidedBy: actor, policyMaxMs: maxMs, endedAt });
      await showCurrentState(d, req.id, { kind: 'denied' });
    },
  };
}

/** An owner clicked Deny: may they? (The reason is asked for next, in a modal.) */
export async function prepareDeny(d: ServiceDeps, requestId: string, actor: string): Promise<{ ok: true; host: string } | { ok: false; reply: Reply }> {
  const loaded = await loadForDecision(d, requestId, actor, 'deny');
  return loaded.ok ? { ok: true, host: loaded.req.host } : loaded;
}

/** An owner gave the reason for denying: the request ends, the requester is told why. */
export async function deny(d: ServiceDeps, requestId: string, actor: string, reason: string): Promise<Outcome> {
  const loaded = await loadForDecision(d, requestId, actor, 'deny');
  if (!loaded.ok) return { reply: loaded.reply };
  const { req } = loaded;
  // Cut by code points: a cut between the halves of an emoji would store text Slack refuses to show.
  const denyReason = clipCodePoints(reason.trim(), d.policy.limits.maxReasonLength);
  const endedAt = d.clock.now();
  const t = await d.requests.transition(req, 'denied', auditEvent(d, 'denied', req, { actor, reason: denyReason }), { decidedBy: actor, denyReason, endedAt });
  if (!t.ok) return { reply: t.code === 'conflict' ? { kind: 'already', state: t.state } : { kind: 'request-gone' } };
  return {
    after: async () => {
      await d.jobs.cancel('timeout', req.id);
      await d.notifier.requestDenied({ ...req, state: 'denied', decidedBy: actor, denyReason, endedAt });
      await showCurrentState(d, req.id, { kind: 'denied' });
    },
  };
}

// An owner's decision: Approve, or Deny with a reason (asked in a modal between prepareDeny and deny).
// Both go through one prelude: a well-formed id, a request that exists, and an actor allowed to decide on it.
import { checkDecider } from '../domain/access-policy.ts';
import { REQUEST_ID_PATTERN } from '../domain/ids.ts';
import { isRetired } from '../domain/retirement.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { completeActivation } from './grant-lifecycle.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome, type Reply } from './replies.ts';
import { auditRefusal } from './refusals.ts';
import { auditEvent, showCurrentState } from './request-events.ts';

type Loaded = { ok: true; req: AccessRequest } | { ok: false; reply: Reply };

const GONE: Loaded = { ok: false, reply: { kind: 'request-gone' } };

/** The request `actor` wants to decide on, or the reply that says why they cannot (refusals are audited). */
async function loadForDecision(d: ServiceDeps, requestId: string, actor: string, action: 'approve' | 'deny'): Promise<Loaded> {
  if (!REQUEST_ID_PATTERN.test(requestId)) return GONE;
  const req = await d.requests.get(requestId);
  if (!req) return GONE;
  // A decided request cannot be denied; approving one is answered by the store, after the decider check.
  if (action === 'deny' && req.state !== 'pending') return { ok: false, reply: { kind: 'already', state: req.state } };
  const host = d.policy.hosts.find((h) => h.name === req.host);
  const allowed = checkDecider(req, actor, await d.owners.expand(host?.owners ?? []), action);
  if (allowed.ok) return { ok: true, req };
  await auditRefusal(d, req, actor, action, allowed.code, allowed.message);
  return { ok: false, reply: refusedReply(allowed) };
}

/** An owner clicked Approve. The last required approval activates the grant; its follow-up runs after the ack. */
export async function approve(d: ServiceDeps, requestId: string, actor: string): Promise<Outcome> {
  const loaded = await loadForDecision(d, requestId, actor, 'approve');
  if (!loaded.ok) return { reply: loaded.reply };
  const { req } = loaded;
  // A retired jump server takes no new grants: a request made before it was retired stays undecided and times out.
  if (req.state === 'pending' && isRetired(d.policy, req.jumpHost)) {
    await auditRefusal(d, req, actor, 'approve', 'jump-host-retired', `jump server ${req.jumpHost} is retired`);
    return { reply: refusedReply({ code: 'jump-host-retired', params: { host: req.host, jumpHost: req.jumpHost } }) };
  }
  const result = await d.requests.approve(req, actor, d.clock.now());
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
    }
  }
  if (!result.value.activated)
    return {
      reply: { kind: 'approval-recorded', approvals: result.value.approvals, required: req.requiredApprovals },
      after: () => showCurrentState(d, req.id),
    };
  return { after: () => completeActivation(d, req.id) };
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
  const denyReason = reason.trim().slice(0, d.policy.limits.maxReasonLength);
  const endedAt = d.clock.now();
  const t = await d.requests.transition(req, 'denied', auditEvent(d, 'denied', req, { actor, reason: denyReason }), { decidedBy: actor, denyReason, endedAt });
  if (!t.ok) return { reply: t.code === 'conflict' ? { kind: 'already', state: t.state } : { kind: 'request-gone' } };
  return {
    after: async () => {
      await d.jobs.cancel('timeout', req.id);
      await d.notifier.requestDenied({ ...req, state: 'denied', decidedBy: actor, denyReason, endedAt });
      await showCurrentState(d, req.id);
    },
  };
}

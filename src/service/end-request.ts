// `/jump revoke <id>`: the requester ends their grant or cancels their pending request; the host's owners may
// too. Anyone else is answered as if the request did not exist (ids are not an oracle), and audited.
import { authorize, type Action } from '../domain/authorization.ts';
import { REQUEST_ID_PATTERN } from '../domain/ids.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { ok } from '../domain/result.ts';
import type { ServiceDeps } from './ports.ts';
import type { Outcome } from './replies.ts';
import { auditRefusal } from './refusals.ts';
import { confirmed } from './sync-ahead.ts';
import { auditEvent, showCurrentState, usageAtEnd } from './request-events.ts';

export async function revokeOrCancel(d: ServiceDeps, actor: string, id: string): Promise<Outcome> {
  if (!REQUEST_ID_PATTERN.test(id)) return { reply: { kind: 'not-an-id', text: id } };
  const req = await d.requests.get(id);
  if (!req) return { reply: { kind: 'not-yours', id } };
  const host = d.policy.hosts.find((h) => h.name === req.host);
  const action: Action = req.state === 'pending' ? 'cancel' : 'revoke';
  // The requester needs no owner list; anyone else is refused while the owners cannot be verified (fail closed).
  const expanded = actor === req.requester ? ok(new Set<string>()) : await d.owners.expand(host?.owners ?? []);
  if (!expanded.ok) {
    await auditRefusal(d, req, actor, action, expanded.code, expanded.message);
    return { reply: { kind: 'refused', code: 'owners-unavailable', params: { host: req.host } } };
  }
  const allowed = authorize(action, { actor, requester: req.requester, owners: expanded.value, host: req.host });
  if (!allowed.ok) {
    await auditRefusal(d, req, actor, action, allowed.code, allowed.message);
    return { reply: { kind: 'not-yours', id } };
  }
  return req.state === 'pending' ? cancel(d, actor, req) : revoke(d, actor, req);
}

async function cancel(d: ServiceDeps, actor: string, req: AccessRequest): Promise<Outcome> {
  const event = auditEvent(d, 'cancelled', req, { actor });
  const endedAt = d.clock.now();
  const t = await d.requests.transition(req, 'cancelled', event, { decidedBy: actor, endedAt });
  if (!t.ok) return { reply: t.code === 'conflict' ? { kind: 'already', state: t.state } : { kind: 'not-yours', id: req.id } };
  return {
    reply: { kind: 'cancelled', id: req.id },
    after: async () => {
      await d.jobs.cancel('timeout', req.id);
      // The requester knows what they did; an owner's cancellation is news to them.
      if (actor !== req.requester) await d.notifier.requestCancelled({ ...req, state: 'cancelled', decidedBy: actor, endedAt });
      await showCurrentState(d, req.id, { kind: 'cancelled' });
    },
  };
}

async function revoke(d: ServiceDeps, actor: string, req: AccessRequest): Promise<Outcome> {
  const endedAt = d.clock.now();
  const used = await usageAtEnd(d, req, endedAt);
  const ending = d.requests.transition(req, 'revoked', auditEvent(d, 'revoked', req, { actor, detail: used.usage }), { decidedBy: actor, endedAt, ...used });
  // Asked for in this turn, right behind the state change on the same connection (as an approval's, see
  // sync-ahead.ts): Redis reads what the sync renders after the grant has left the active set, and the line goes
  // while the answer is on its way. A revocation that did not happen leaves the sync nothing to change.
  const synced = d.sync.sync(req.jumpHost);
  synced.catch(() => undefined); // awaited after the ack
  const t = await ending;
  if (!t.ok) return { reply: { kind: 'nothing-to-revoke', id: req.id, state: t.code === 'conflict' ? t.state : req.state } };
  return {
    reply: { kind: 'revoked', id: req.id, host: req.host },
    after: async () => {
      // The line goes before anyone is told; told even if the sync failed (the revocation stands), then the
      // failure is thrown and logged. The revoke job then stays: it syncs again at the grant's end.
      const gone = confirmed(d.sync, req.jumpHost, synced, (r) => !r.grantIds.includes(req.id));
      const syncFailure = await gone.then(() => undefined, (err: unknown) => err ?? new Error('sync failed'));
      if (syncFailure === undefined) await d.jobs.cancel('revoke', req.id);
      // The requester knows what they did; anyone else's revocation is news to them.
      if (actor !== req.requester) await d.notifier.grantEnded({ ...req, state: 'revoked', decidedBy: actor, endedAt, ...used });
      await showCurrentState(d, req.id, { kind: 'revoked' });
      if (syncFailure !== undefined) throw syncFailure;
    },
  };
}

// How an extension request ends when its last approval cannot move the grant's end: the grant ended first (the
// extension is cancelled: the grant ended on time), or the grant would then last longer than the host's
// maxTotalDuration under the current policy (the extension is denied, saying the limit). The requester is told.
import { formatDuration } from '../domain/duration.ts';
import { grantLengthMs } from '../domain/extension-policy.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome } from './replies.ts';
import { auditEvent, cancelForEndedGrant, showCurrentState } from './request-events.ts';

/** The grant of `extension` is no longer active: the extension ends, cancelled, and nothing is extended. */
export async function extensionOfEndedGrant(d: ServiceDeps, extension: AccessRequest, actor: string): Promise<Outcome> {
  const ended = await cancelForEndedGrant(d, extension, actor);
  const reply = refusedReply({ code: 'extension-grant-ended', params: { id: extension.extends ?? extension.id } });
  if (!ended) return { reply };
  return {
    reply,
    after: async () => {
      await d.jobs.cancel('timeout', extension.id);
      await d.notifier.requestCancelled(ended);
      await showCurrentState(d, extension.id, { kind: 'cancelled' });
    },
  };
}

/** The grant would last longer than `maxTotalMs` (the policy changed since it was asked): denied, saying the limit. */
export async function extensionOverTotal(d: ServiceDeps, extension: AccessRequest, actor: string, maxTotalMs: number): Promise<Outcome> {
  const grant = extension.extends ? await d.requests.get(extension.extends) : undefined;
  const leftMs = Math.max(0, maxTotalMs - (grant ? grantLengthMs(grant) : maxTotalMs));
  const denyReason = `a grant on ${extension.host} lasts at most ${formatDuration(maxTotalMs)} in all; it can be extended by at most ${formatDuration(leftMs)} more`;
  const endedAt = d.clock.now();
  const t = await d.requests.transition(extension, 'denied', auditEvent(d, 'denied', extension, { actor, reason: denyReason }), { decidedBy: actor, denyReason, endedAt });
  const reply = refusedReply({ code: 'extension-over-total', params: { host: extension.host, maxTotalMs, leftMs } });
  if (!t.ok) return { reply };
  return {
    reply,
    after: async () => {
      await d.jobs.cancel('timeout', extension.id);
      await d.notifier.requestDenied({ ...extension, state: 'denied', decidedBy: actor, denyReason, endedAt });
      await showCurrentState(d, extension.id, { kind: 'denied' });
    },
  };
}

// The request form: `/jump request` with no arguments, the Home tab's "Request access" and the Request again
// button open it. What it offers comes from the policy (requestFormFor: the hosts the person may request,
// durations within their limits); submitting it is `/jump request` itself, so it refuses what the command
// refuses, in its words.
import { authorize } from '../domain/authorization.ts';
import { hostRules } from '../domain/access-policy.ts';
import { requestFormFor, type RequestForm } from '../domain/requestable-hosts.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { requestAgain } from './grant-buttons.ts';
import { membershipOf } from './membership.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome } from './replies.ts';
import { requestAccess, type AccessAsked } from './request-access.ts';

export type { RequestForm };

/**
 * The form for `user`, prefilled from `earlier` when given (the caller has checked it is theirs); `chosen`: the
 * host picked in the form so far (and the duration), whose limits the durations then follow.
 */
export async function requestForm(
  d: Pick<ServiceDeps, 'policy' | 'owners'>,
  user: string,
  earlier?: AccessRequest,
  chosen?: { host: string; durationMs?: number },
): Promise<RequestForm> {
  // The requesters of every host that names any; a group Slack cannot list leaves its host out.
  const member = await membershipOf(d, user, d.policy.hosts.map((h) => hostRules(d.policy, h).requesters));
  return requestFormFor(d.policy, user, earlier, chosen, member);
}

/** The form submitted: `/jump request` with its fields; from a Request again form, only by that request's requester. */
export async function submitRequestForm(d: ServiceDeps, actor: string, earlierId: string | undefined, asked: AccessAsked): Promise<Outcome> {
  if (earlierId) return requestAgain(d, actor, earlierId, asked);
  const allowed = authorize('request', { actor });
  if (!allowed.ok) return { reply: refusedReply(allowed) };
  return requestAccess(d, actor, asked);
}

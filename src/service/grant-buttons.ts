// The buttons on the requester's DMs. I'm done is `/jump revoke <id>` by whoever clicks (one code path, the
// same checks and answers); Request again prefills the request form from an earlier request of the clicker's
// own, and submitting the form is `/jump request` (the same checks and refusals).
import { authorize } from '../domain/authorization.ts';
import { REQUEST_ID_PATTERN } from '../domain/ids.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { revokeOrCancel } from './end-request.ts';
import type { ServiceDeps } from './ports.ts';
import { auditRefusal } from './refusals.ts';
import { refusedReply, type Outcome, type Reply } from './replies.ts';
import { requestAccess, type AccessAsked } from './request-access.ts';

/** I'm done: `ended` is the request as it stands after, for the clicked message (only for someone who may end it). */
export async function imDone(d: ServiceDeps, actor: string, id: string): Promise<Outcome & { ended?: AccessRequest }> {
  const outcome = await revokeOrCancel(d, actor, id);
  const kind = outcome.reply?.kind;
  // Anyone else was answered as `/jump revoke` answers them, and learns nothing more.
  if (kind !== 'revoked' && kind !== 'nothing-to-revoke' && kind !== 'cancelled') return outcome;
  const req = await d.requests.get(id);
  return { ...outcome, ended: req && req.state !== 'active' && req.state !== 'pending' ? req : undefined };
}

export type EarlierRequest = { ok: true; request: AccessRequest } | { ok: false; reply: Reply };

/** The earlier request a Request again click names, if the clicker made it; anyone else: as if it did not exist. */
export async function earlierRequest(d: ServiceDeps, actor: string, id: string): Promise<EarlierRequest> {
  if (!REQUEST_ID_PATTERN.test(id)) return { ok: false, reply: { kind: 'not-an-id', text: id } };
  const req = await d.requests.get(id);
  if (!req) return { ok: false, reply: { kind: 'not-yours', id } };
  const allowed = authorize('request-again', { actor, requester: req.requester, host: req.host });
  if (!allowed.ok) {
    await auditRefusal(d, req, actor, 'request-again', allowed.code, allowed.message);
    return { ok: false, reply: { kind: 'not-yours', id } };
  }
  return { ok: true, request: req };
}

/** The Request again form submitted: a new request, exactly as `/jump request` makes one. */
export async function requestAgain(d: ServiceDeps, actor: string, earlierId: string, asked: AccessAsked): Promise<Outcome> {
  const earlier = await earlierRequest(d, actor, earlierId);
  if (!earlier.ok) return { reply: earlier.reply };
  const allowed = authorize('request', { actor });
  if (!allowed.ok) return { reply: refusedReply(allowed) };
  return requestAccess(d, actor, asked);
}

// `/jump <text>`: parsed, checked against the permission table, and handed to the use case it names.
import { authorize, type Action } from '../domain/authorization.ts';
import { auditSummary, mayAudit } from './audit-summary.ts';
import { parseCommand, type JumpCommand } from '../domain/command.ts';
import { revokeOrCancel } from './end-request.ts';
import { extendGrant } from './extend-grant.ts';
import { breakGlass } from './break-glass.ts';
import { addKey, removeKey, showKey } from './keys.ts';
import { listOpen } from './list.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome } from './replies.ts';
import { auditCallerRefusal } from './refusals.ts';
import { requestAccess } from './request-access.ts';
import { requestForm } from './request-form.ts';

const SELF_SERVICE: Partial<Record<JumpCommand['kind'], Action>> = {
  help: 'help',
  list: 'list',
  'key-show': 'key-show',
  'key-add': 'key-add',
  'key-remove': 'key-remove',
  request: 'request',
  'request-form': 'request',
};

export async function routeCommand(d: ServiceDeps, user: string, text: string): Promise<Outcome> {
  const cmd = parseCommand(text, d.policy.limits.maxCommandLength);
  // Self-service commands go through the same table as decisions (actions on a request check it with the request).
  const selfService = SELF_SERVICE[cmd.kind];
  if (selfService) {
    const allowed = authorize(selfService, { actor: user });
    if (!allowed.ok) {
      await auditCallerRefusal(d, user, selfService, allowed.code, allowed.message);
      return { reply: refusedReply(allowed) };
    }
  }
  switch (cmd.kind) {
    case 'private-key':
      // The text is dropped here: never logged, stored or echoed. The person is told to rotate the key.
      await auditCallerRefusal(d, user, 'key-add', 'private-key-pasted', 'a private key was pasted (not stored); the person was told to rotate it');
      return { reply: refusedReply({ code: 'private-key-pasted', params: {} }) };
    case 'help':
      // The hosts this person may request (requesters, retired jump servers), as the request form offers them.
      // `/jump audit` is listed for those who may use it only.
      return { reply: { kind: 'help', hosts: (await requestForm(d, user)).hosts.map((h) => h.name), ...((await mayAudit(d, user)) ? { audit: true } : {}) } };
    case 'invalid':
      return { reply: refusedReply(cmd) };
    case 'key-show':
      return showKey(d, user);
    case 'key-add':
      return addKey(d, user, cmd.keyText);
    case 'key-remove':
      return removeKey(d, user);
    case 'request':
      return requestOrAskReason(d, user, cmd);
    case 'request-form':
      return { reply: { kind: 'request-form', form: await requestForm(d, user) } };
    case 'list':
      return listOpen(d, user, cmd.all);
    case 'revoke':
      return revokeOrCancel(d, user, cmd.id);
    case 'extend':
      return extendGrant(d, user, cmd.id, cmd);
    case 'break-glass':
      return breakGlass(d, user, cmd);
    case 'audit':
      return auditSummary(d, user, cmd);
  }
}

/**
 * `/jump request` as typed; one that lacks only its required reason opens the request form for it instead,
 * host and duration filled in (the refusal stays the answer if Slack does not open the form).
 */
async function requestOrAskReason(d: ServiceDeps, user: string, cmd: Extract<JumpCommand, { kind: 'request' }>): Promise<Outcome> {
  const outcome = await requestAccess(d, user, cmd);
  const r = outcome.reply;
  if (r?.kind !== 'refused' || r.code !== 'reason-required') return outcome;
  const form = await requestForm(d, user, undefined, { host: r.params.host, durationMs: r.params.durationMs });
  return { reply: { kind: 'request-form', form, fallback: { code: r.code, params: r.params } } };
}

// `/jump extend <id> <duration> [reason]` and the Extend button's form: the requester asks for more time on an
// active grant. Within the host's selfExtend it is granted at once; otherwise an extension request goes to the
// owners (same Approve/Deny, rules and reminders as a request) while the grant runs on. Either way the grant's
// end moves in one atomic step (store), then the line is rewritten with its later expiry-time by the one sync
// path, and a warning is scheduled for the new end; the revoke job, finding the end moved, waits for it.
import { authorize } from '../domain/authorization.ts';
import { hostRules } from '../domain/access-policy.ts';
import { evaluateExtension, grantLengthMs } from '../domain/extension-policy.ts';
import { REQUEST_ID_PATTERN } from '../domain/ids.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { ExtensionResult } from '../domain/store-results.ts';
import type { ServiceDeps } from './ports.ts';
import { auditRefusal, takeRateLimit } from './refusals.ts';
import { refusedReply, type Outcome, type Reply } from './replies.ts';
import { askOwners, newRequest } from './request-access.ts';
import { auditEvent, showCurrentState } from './request-events.ts';
import { scheduleExpiryWarning } from './grant-lifecycle.ts';

export interface ExtensionAsked {
  duration: string;
  reason: string;
}

/** `suggestedMs`: what the Extend form offers: the default duration, within what the host still allows */
type Loaded = { ok: true; grant: AccessRequest; suggestedMs: number } | { ok: false; reply: Reply };

/** The grant `actor` may ask to extend: theirs (an extension's id stands for its grant); anyone else: as if it did not exist. */
export async function grantToExtend(d: ServiceDeps, actor: string, id: string): Promise<Loaded> {
  if (!REQUEST_ID_PATTERN.test(id)) return { ok: false, reply: { kind: 'not-an-id', text: id } };
  const found = await d.requests.get(id);
  const grant = found?.extends ? await d.requests.get(found.extends) : found;
  if (!grant) return { ok: false, reply: { kind: 'not-yours', id } };
  const allowed = authorize('extend', { actor, requester: grant.requester, host: grant.host });
  if (!allowed.ok) {
    await auditRefusal(d, grant, actor, 'extend', allowed.code, allowed.message);
    return { ok: false, reply: { kind: 'not-yours', id } };
  }
  const host = d.policy.hosts.find((h) => h.name === grant.host);
  const rules = host ? hostRules(d.policy, host) : undefined;
  const room = rules ? Math.min(rules.maxDurationMs, rules.maxTotalMs - grantLengthMs(grant)) : 0;
  return { ok: true, grant, suggestedMs: Math.max(rules?.minDurationMs ?? 0, Math.min(d.policy.defaults.duration, room)) };
}

export async function extendGrant(d: ServiceDeps, actor: string, id: string, asked: ExtensionAsked): Promise<Outcome> {
  const loaded = await grantToExtend(d, actor, id);
  if (!loaded.ok) return { reply: loaded.reply };
  const { grant } = loaded;
  const now = d.clock.now();
  const decision = evaluateExtension(d.policy, grant, asked, now);
  if (!decision.ok) return { reply: refusedReply(decision) };
  const limited = await takeRateLimit(d, 'request', actor);
  if (limited) return { reply: limited };
  const { host, durationMs, reason, requiredApprovals, maxTotalMs, selfExtendMs } = decision.value;
  const fields = { durationMs, reason, requiredApprovals, keyFingerprint: grant.keyFingerprint, extends: grant.id };
  // On the grant's jump server, even if the policy has since moved the host: its end is indexed there.
  const extension = { ...newRequest(d, actor, host, fields), jumpHost: grant.jumpHost };
  const detail = `extension ${extension.id} of ${grant.id}`;
  const events = {
    extended: auditEvent(d, 'extended', grant, { actor, durationMs, reason, detail: `within selfExtend (${selfExtendMs} ms)` }),
    requested: auditEvent(d, 'requested', extension, { actor, durationMs, reason, detail }),
  };
  const r = await d.requests.askExtension(grant, extension, events, { now, maxTotalMs, selfExtendMs });
  if (!r.ok) return { reply: refusedExtension(r, grant, maxTotalMs, durationMs) };
  if (r.value.extended) {
    const { expiresAt } = r.value;
    return { reply: { kind: 'extended', id: grant.id, host: grant.host, durationMs, expiresAt }, after: () => followUpExtension(d, grant.id, undefined, durationMs) };
  }
  await d.jobs.schedule('timeout', extension.id, now + d.policy.defaults.approvalTimeout, now);
  return {
    reply: { kind: 'extension-sent', id: extension.id, grantId: grant.id, host: grant.host, durationMs, requiredApprovals, selfExtendMs },
    after: () => askOwners(d, extension, host),
  };
}

function refusedExtension(r: Exclude<ExtensionResult, { ok: true }>, grant: AccessRequest, maxTotalMs: number, durationMs: number): Reply {
  switch (r.code) {
    case 'waiting':
      return refusedReply({ code: 'extension-waiting', params: { id: grant.id, extensionId: r.extensionId } });
    case 'grant-ended':
      return refusedReply({ code: 'grant-not-active', params: { id: grant.id, state: r.grantState === 'active' ? 'expired' : r.grantState } });
    case 'over-total': {
      // Another extension landed in between: say what is left now (the store's total includes this one).
      const leftMs = Math.max(0, maxTotalMs - (r.totalMs - durationMs));
      return refusedReply({ code: 'extension-over-total', params: { host: grant.host, maxTotalMs, leftMs } });
    }
    case 'not-found':
      return { kind: 'not-yours', id: grant.id };
  }
}

/**
 * The grant's end has moved (self-extension, or an extension's last approval): the line is rewritten with the
 * new expiry-time, a warning is scheduled for the new end, and every message of the grant shows it. Idempotent;
 * if this never runs (a crash), the revoke job re-delays itself to the new end and the reconciler syncs.
 */
export async function followUpExtension(d: ServiceDeps, grantId: string, extension?: AccessRequest, selfExtendedMs = 0): Promise<void> {
  const grant = await d.requests.get(grantId);
  if (!grant || grant.state !== 'active' || grant.expiresAt === undefined) return;
  await d.sync.sync(grant.jumpHost);
  await scheduleExpiryWarning(d, grant, grant.expiresAt).catch((err: unknown) => d.logger.warn({ err, requestId: grantId }, 'could not schedule the expiry warning'));
  if (extension) {
    await d.jobs.cancel('timeout', extension.id);
    await d.notifier.grantExtended(grant, extension);
  }
  // Told in the grant's thread and the extension's: only the path that moved the end runs this.
  const step = { kind: 'extended', durationMs: extension?.durationMs ?? selfExtendedMs, endsAt: grant.expiresAt, approvedBy: extension?.approvers ?? [] } as const;
  await showCurrentState(d, grantId, step);
  if (extension) await showCurrentState(d, extension.id, step);
}

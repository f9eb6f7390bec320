// `/jump key …`: show, register or replace, and remove the person's one public key. A grant is bound to the key
// that was approved (its fingerprint is recorded at request time and shown to the owners), so a key change ends
// the person's active grants (revoked, "key changed") and cancels their pending requests: they request again
// with the new key. The renderer also refuses a grant whose owner's key is not the approved one, so no sync
// racing with this ever puts the new key on the jump server for an old approval.
import { checkUserPublicKey } from '../domain/public-key.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome } from './replies.ts';
import { auditCallerRefusal, takeRateLimit } from './refusals.ts';
import { auditEvent, showCurrentState, usageAtEnd } from './request-events.ts';

export async function showKey(d: ServiceDeps, user: string): Promise<Outcome> {
  const key = await d.keys.get(user);
  return { reply: key ? { kind: 'key', key } : { kind: 'no-key' } };
}

export async function addKey(d: ServiceDeps, user: string, keyText: string): Promise<Outcome> {
  const check = checkUserPublicKey(keyText, { minRsaBits: d.policy.keys.minRsaBits });
  if (!check.ok) {
    // The text is never logged: it may be a private key.
    d.logger.info({ user, privateKeyPasted: check.code === 'private-key-pasted' }, 'key refused');
    return { reply: refusedReply(check) };
  }
  const standing = await d.standingKeys.find(check.value.fingerprint);
  if (standing) {
    // Someone else's key with access outside jit-jump (the broker's own, or an operator's): a grant line for it
    // could shadow that line (sshd takes the first line of a key) and lock the broker out.
    const code = standing.kind === 'broker-key' ? 'key-is-broker-key' : 'key-stands-outside-block';
    await auditCallerRefusal(d, user, 'key-add', code, `${check.value.fingerprint} ${standing.kind === 'broker-key' ? 'is the broker key of' : 'stands outside the block on'} ${standing.jumpHost}`);
    return { reply: refusedReply({ code, params: { jumpHost: standing.jumpHost } }) };
  }
  const limited = await takeRateLimit(d, 'key-change', user);
  if (limited) return { reply: limited };
  const result = await d.keys.set(user, check.value, d.clock.now());
  if (!result.ok) return { reply: { kind: 'key-taken' } };
  const { type, fingerprint } = check.value;
  const { replaced } = result.value;
  // Registering the same key again changes nothing: only what was asked for with another key ends.
  const ended = replaced ? await endWhatTheOldKeyHeld(d, user, fingerprint) : { grants: [], pending: [] };
  return {
    reply: { kind: 'key-saved', type, fingerprint, replaced, endedGrants: ended.grants.length, cancelledRequests: ended.pending.length },
    after: () => followUp(d, ended),
  };
}

/** `/jump key remove`: the key goes, and with it the person's active grants and pending requests. */
export async function removeKey(d: ServiceDeps, user: string): Promise<Outcome> {
  const limited = await takeRateLimit(d, 'key-change', user);
  if (limited) return { reply: limited };
  const result = await d.keys.remove(user, d.clock.now());
  if (!result.ok) return { reply: { kind: 'no-key-to-remove' } };
  const ended = await endWhatTheOldKeyHeld(d, user);
  return {
    reply: { kind: 'key-removed', fingerprint: result.value.fingerprint, endedGrants: ended.grants.length, cancelledRequests: ended.pending.length },
    after: () => followUp(d, ended),
  };
}

interface Ended {
  /** active grants now revoked */
  grants: AccessRequest[];
  /** pending requests now cancelled */
  pending: AccessRequest[];
}

const KEY_CHANGED = 'key changed';

/**
 * Ends the person's active grants and cancels their pending requests (each atomic, with its audit event), but
 * those made with `current` (the key now registered). A request stored before keys were bound has no
 * fingerprint and ends as well.
 */
async function endWhatTheOldKeyHeld(d: ServiceDeps, user: string, current?: string): Promise<Ended> {
  const open = (await d.requests.recentForUser(user, 200)).filter(
    (r) => (r.state === 'active' || r.state === 'pending') && (current === undefined || r.keyFingerprint !== current),
  );
  const ended: Ended = { grants: [], pending: [] };
  for (const req of open) {
    const fields = { decidedBy: user, endedAt: d.clock.now(), endReason: 'key-changed' } as const;
    if (req.state === 'pending') {
      const t = await d.requests.transition(req, 'cancelled', auditEvent(d, 'cancelled', req, { actor: user, detail: KEY_CHANGED }), fields);
      if (t.ok) {
        ended.pending.push({ ...req, state: 'cancelled', ...fields });
        continue;
      }
      // Approved in the meantime: it is a grant now, and ends as one.
      if (t.code !== 'conflict' || t.state !== 'active') continue;
    }
    const used = await usageAtEnd(d, req, fields.endedAt);
    const detail = used.usage ? `${KEY_CHANGED}; ${used.usage}` : KEY_CHANGED;
    const t = await d.requests.transition(req, 'revoked', auditEvent(d, 'revoked', req, { actor: user, detail }), { ...fields, ...used });
    if (t.ok) ended.grants.push({ ...req, state: 'revoked', ...fields, ...used });
  }
  return ended;
}

/** After the ack: the lines leave (the normal sync path), jobs go, the person and the approval messages are told. */
async function followUp(d: ServiceDeps, ended: Ended): Promise<void> {
  await Promise.all([...new Set(ended.grants.map((r) => r.jumpHost))].map((j) => d.sync.sync(j)));
  await Promise.all([...ended.grants.map((r) => d.jobs.cancel('revoke', r.id)), ...ended.pending.map((r) => d.jobs.cancel('timeout', r.id))]);
  for (const r of ended.grants) await d.notifier.grantEnded(r);
  for (const r of ended.grants) await showCurrentState(d, r.id, { kind: 'revoked' });
  for (const r of ended.pending) await showCurrentState(d, r.id, { kind: 'cancelled' });
}

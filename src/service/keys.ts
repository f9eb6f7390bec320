// `/jump key …`: show, register or replace, and remove the person's one public key. A key change re-renders
// the blocks holding the person's active grants: the old key loses access at once.
import { checkUserPublicKey } from '../domain/public-key.ts';
import type { ServiceDeps } from './ports.ts';
import { refusedReply, type Outcome } from './replies.ts';
import { auditCallerRefusal, takeRateLimit } from './refusals.ts';
import { activeGrantsOf } from './request-events.ts';

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
  const reply = { kind: 'key-saved', type, fingerprint, replaced: result.value.replaced } as const;
  if (!result.value.replaced) return { reply };
  return { reply, after: () => resyncGrantsOf(d, user) };
}

/** `/jump key remove`: the key goes, and with it every line of the person's active grants. */
export async function removeKey(d: ServiceDeps, user: string): Promise<Outcome> {
  const limited = await takeRateLimit(d, 'key-change', user);
  if (limited) return { reply: limited };
  const result = await d.keys.remove(user, d.clock.now());
  if (!result.ok) return { reply: { kind: 'no-key-to-remove' } };
  const active = await activeGrantsOf(d, user);
  return {
    reply: { kind: 'key-removed', fingerprint: result.value.fingerprint, activeGrants: active.length },
    after: () => syncJumpHosts(d, active.map((r) => r.jumpHost)),
  };
}

async function resyncGrantsOf(d: ServiceDeps, user: string): Promise<void> {
  await syncJumpHosts(d, (await activeGrantsOf(d, user)).map((r) => r.jumpHost));
}

async function syncJumpHosts(d: ServiceDeps, jumpHosts: string[]): Promise<void> {
  await Promise.all([...new Set(jumpHosts)].map((j) => d.sync.sync(j)));
}

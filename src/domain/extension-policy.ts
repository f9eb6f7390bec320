// May this grant be extended by this much, and does it need its owners? A pure function of the policy, the
// grant and the time. The store checks the same limits again in the atomic step that moves the grant's end.
import { checkReason, hostRules } from './access-policy.ts';
import { parseDuration } from './duration.ts';
import type { HostPolicy, Policy } from './policy.ts';
import type { AccessRequest } from './request-state.ts';
import { ok, refuse, type PolicyRefusals, type Result } from './result.ts';
import { isRetired } from './retirement.ts';
import { echo } from './user-text.ts';

export interface ExtensionDraft {
  host: HostPolicy;
  /** the time the extension adds */
  durationMs: number;
  reason: string;
  requiredApprovals: number;
  /** within selfExtend: granted at once, without owners */
  self: boolean;
  maxTotalMs: number;
  selfExtendMs: number;
}

/** How long the grant lasts now, from activation to its current end. */
export function grantLengthMs(grant: AccessRequest): number {
  return (grant.expiresAt ?? 0) - (grant.activatedAt ?? grant.expiresAt ?? 0);
}

export function evaluateExtension(
  policy: Policy,
  grant: AccessRequest,
  input: { duration: string; reason: string },
  now: number,
): Result<ExtensionDraft, keyof PolicyRefusals> {
  const { id } = grant;
  if (grant.state !== 'active' || grant.expiresAt === undefined || grant.expiresAt <= now)
    return refuse('grant-not-active', `grant ${id} is ${grant.state}`, { id, state: grant.state === 'active' ? 'expired' : grant.state });
  const host = policy.hosts.find((h) => h.name === grant.host);
  if (!host) return refuse('unknown-host', `host ${grant.host} is no longer in the policy`, { host: grant.host, known: policy.hosts.map((h) => h.name) });
  if (isRetired(policy, host.jumpHost))
    return refuse('jump-host-retired', `${host.name} is behind retired jump server ${host.jumpHost}`, { host: host.name, jumpHost: host.jumpHost });
  const durationMs = parseDuration(input.duration);
  if (durationMs === undefined) return refuse('bad-duration', `not a duration: "${echo(input.duration, 20)}"`, { text: input.duration });
  const rules = hostRules(policy, host);
  if (durationMs > rules.maxDurationMs)
    return refuse('extension-too-long', `extension over maxDuration of ${host.name}`, { id, host: host.name, maxMs: rules.maxDurationMs });
  if (durationMs < rules.minDurationMs) return refuse('extension-too-short', 'extension under minDuration', { id, minMs: rules.minDurationMs });
  const leftMs = Math.max(0, rules.maxTotalMs - grantLengthMs(grant));
  if (durationMs > leftMs)
    return refuse('extension-over-total', `grant would exceed maxTotalDuration of ${host.name}`, { host: host.name, maxTotalMs: rules.maxTotalMs, leftMs });
  const reason = checkReason(policy, host, input.reason, () => refuse('extension-reason-required', `${host.name} requires a reason`, { id, durationMs }));
  if (!reason.ok) return reason;
  const self = (grant.extendedMs ?? 0) + durationMs <= rules.selfExtendMs;
  return ok({ host, durationMs, reason: reason.value, requiredApprovals: rules.approvals, self, maxTotalMs: rules.maxTotalMs, selfExtendMs: rules.selfExtendMs });
}

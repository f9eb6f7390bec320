// Policy decisions: may this request be made, and may this person decide on it. Pure functions.
import type { HostPolicy, Policy } from './policy.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { authorize } from './authorization.ts';
import type { AccessRequest } from './request-state.ts';
import { ok, refuse, type Result } from './result.ts';
import { echo } from './user-text.ts';

/** The default of policy limits.maxReasonLength. */
export const MAX_REASON_LENGTH = 500;

export interface RequestDraft {
  host: HostPolicy;
  durationMs: number;
  reason: string;
  requiredApprovals: number;
}

export type Decision<T> = Result<T>;

export function hostRules(policy: Policy, host: HostPolicy) {
  return {
    maxDurationMs: host.maxDuration ?? policy.defaults.maxDuration,
    minDurationMs: policy.defaults.minDuration,
    approvals: host.approvals ?? policy.defaults.approvals,
    requireReason: host.requireReason ?? policy.defaults.requireReason,
  };
}

export function evaluateRequest(
  policy: Policy,
  input: { hostName: string; duration?: string; reason: string; hasKey: boolean },
): Decision<RequestDraft> {
  const host = policy.hosts.find((h) => h.name === input.hostName);
  if (!host) {
    const known = policy.hosts.map((h) => `\`${h.name}\``).join(', ');
    return refuse('unknown-host', `Unknown host "${echo(input.hostName, 64)}". Hosts you can request: ${known}.`);
  }
  const rules = hostRules(policy, host);
  let durationMs = Math.min(policy.defaults.duration, rules.maxDurationMs);
  if (input.duration !== undefined) {
    const parsed = parseDuration(input.duration);
    if (parsed === undefined)
      return refuse('bad-duration', `"${echo(input.duration, 20)}" is not a duration. Use e.g. \`30m\`, \`2h\` or \`1h30m\`.`);
    durationMs = parsed;
  }
  if (durationMs > rules.maxDurationMs)
    return refuse(
      'duration-out-of-range',
      `${host.name} allows at most ${formatDuration(rules.maxDurationMs)}. Try \`/jump request ${host.name} ${formatDuration(rules.maxDurationMs)} …\`.`,
    );
  if (durationMs < rules.minDurationMs)
    return refuse('duration-out-of-range', `The shortest grant is ${formatDuration(rules.minDurationMs)}. Try \`/jump request ${host.name} ${formatDuration(rules.minDurationMs)} …\`.`);
  const reason = input.reason.trim();
  if (rules.requireReason && reason === '')
    return refuse('reason-required', `A reason is required for ${host.name}: \`/jump request ${host.name} ${formatDuration(durationMs)} <why you need access>\`.`);
  const maxReason = policy.limits?.maxReasonLength ?? MAX_REASON_LENGTH;
  if (reason.length > maxReason) return refuse('reason-too-long', `The reason is too long (${reason.length} characters; at most ${maxReason}).`);
  if (!input.hasKey)
    return refuse('no-key', 'Register your public key first: `/jump key add ssh-ed25519 AAAA… you@laptop`, then request again.');
  return ok({ host, durationMs, reason, requiredApprovals: rules.approvals });
}

/** Whether `actor` may approve or deny `request`, given the host's owners expanded to user ids. */
export function checkDecider(request: AccessRequest, actor: string, ownerUserIds: ReadonlySet<string>, action: 'approve' | 'deny'): Decision<null> {
  const allowed = authorize(action, { actor, requester: request.requester, owners: ownerUserIds, host: request.host });
  if (!allowed.ok) return allowed;
  // Only while approvals are still counted: a late click on a decided request is told its state instead.
  if (action === 'approve' && request.state === 'pending' && request.approvers.includes(actor))
    return refuse('already-approved', `You already approved; ${request.requiredApprovals - request.approvers.length} more approval(s) from other owners are needed.`);
  return ok(null);
}

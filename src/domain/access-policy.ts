// Policy decisions: may this request be made, and may this person decide on it. Pure functions.
import type { HostPolicy, Policy } from './policy.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { authorize } from './authorization.ts';
import type { AccessRequest } from './request-state.ts';
import { ok, refuse, type AuthorizationRefusals, type PolicyRefusals, type Result, type WordedCode } from './result.ts';
import { isRetired } from './retirement.ts';
import type { ApprovalRules } from './store-results.ts';
import { echo } from './user-text.ts';

/** The default of policy limits.maxReasonLength. */
export const MAX_REASON_LENGTH = 500;

export interface RequestDraft {
  host: HostPolicy;
  durationMs: number;
  reason: string;
  requiredApprovals: number;
}

export type Decision<T, C extends WordedCode = WordedCode> = Result<T, C>;

/** How many of a host's maxDuration a grant may last in all, with its extensions, unless the policy says. */
export const DEFAULT_TOTAL_FACTOR = 3;

export function hostRules(policy: Pick<Policy, 'defaults'>, host: HostPolicy) {
  const maxDurationMs = host.maxDuration ?? policy.defaults.maxDuration;
  return {
    maxDurationMs,
    minDurationMs: policy.defaults.minDuration,
    approvals: host.approvals ?? policy.defaults.approvals,
    requireReason: host.requireReason ?? policy.defaults.requireReason,
    maxTotalMs: host.maxTotalDuration ?? policy.defaults.maxTotalDuration ?? DEFAULT_TOTAL_FACTOR * maxDurationMs,
    selfExtendMs: host.selfExtend ?? policy.defaults.selfExtend,
  };
}

/**
 * Whether `requester` may ask for access to `host`: the one answer for the typed `/jump request` and the
 * request form's host picker (requestable-hosts.ts). Today every host whose jump server is not retired;
 * a `requesters` rule (who may request at all) belongs here too.
 */
export function mayRequestHost(policy: Pick<Policy, 'jumpHosts'>, host: HostPolicy, requester: string): Result<null, 'jump-host-retired'> {
  void requester; // every person may request every host today
  if (isRetired(policy, host.jumpHost))
    return refuse('jump-host-retired', `${host.name} is behind retired jump server ${host.jumpHost}`, { host: host.name, jumpHost: host.jumpHost });
  return ok(null);
}

export function evaluateRequest(
  policy: Policy,
  input: { hostName: string; duration?: string; reason: string; hasKey: boolean; /** who asks (the form's host picker offers the same hosts) */ requester?: string },
): Decision<RequestDraft, keyof PolicyRefusals> {
  const host = policy.hosts.find((h) => h.name === input.hostName);
  if (!host) {
    const known = policy.hosts.map((h) => h.name);
    return refuse('unknown-host', `unknown host "${echo(input.hostName, 64)}"`, { host: input.hostName, known });
  }
  const may = mayRequestHost(policy, host, input.requester ?? '');
  if (!may.ok) return may;
  const rules = hostRules(policy, host);
  let durationMs = Math.min(policy.defaults.duration, rules.maxDurationMs);
  if (input.duration !== undefined) {
    const parsed = parseDuration(input.duration);
    if (parsed === undefined) return refuse('bad-duration', `not a duration: "${echo(input.duration, 20)}"`, { text: input.duration });
    durationMs = parsed;
  }
  const over = `duration ${formatDuration(durationMs)} of ${host.name}`;
  if (durationMs > rules.maxDurationMs)
    return refuse('duration-too-long', `${over} over maxDuration ${formatDuration(rules.maxDurationMs)}`, { host: host.name, maxMs: rules.maxDurationMs });
  if (durationMs < rules.minDurationMs)
    return refuse('duration-too-short', `${over} under minDuration ${formatDuration(rules.minDurationMs)}`, { host: host.name, minMs: rules.minDurationMs });
  const reason = input.reason.trim();
  if (rules.requireReason && reason === '')
    return refuse('reason-required', `${host.name} requires a reason`, { host: host.name, durationMs });
  const maxReason = policy.limits?.maxReasonLength ?? MAX_REASON_LENGTH;
  if (reason.length > maxReason)
    return refuse('reason-too-long', `reason of ${reason.length} characters over maxReasonLength ${maxReason}`, { length: reason.length, max: maxReason });
  if (!input.hasKey) return refuse('no-key', 'no registered key', {});
  return ok({ host, durationMs, reason, requiredApprovals: rules.approvals });
}

/** The current policy's rules for approving a request on `host` (checked by the store with the approval). */
export function approvalRules(policy: Policy, host: HostPolicy): ApprovalRules {
  const rules = hostRules(policy, host);
  return { approvalTimeoutMs: policy.defaults.approvalTimeout, maxDurationMs: rules.maxDurationMs, requiredApprovals: rules.approvals, maxTotalMs: rules.maxTotalMs };
}

/** Whether `actor` may approve or deny `request`, given the host's owners expanded to user ids. */
export function checkDecider(request: AccessRequest, actor: string, ownerUserIds: ReadonlySet<string>, action: 'approve' | 'deny'): Decision<null, keyof AuthorizationRefusals | 'already-approved'> {
  const allowed = authorize(action, { actor, requester: request.requester, owners: ownerUserIds, host: request.host });
  if (!allowed.ok) return allowed;
  // Only while approvals are still counted: a late click on a decided request is told its state instead.
  if (action === 'approve' && request.state === 'pending' && request.approvers.includes(actor)) {
    const remaining = request.requiredApprovals - request.approvers.length;
    return refuse('already-approved', `already approved; ${remaining} more needed`, { remaining });
  }
  return ok(null);
}

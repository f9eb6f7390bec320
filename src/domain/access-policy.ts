// Policy decisions: may this request be made, and may this person decide on it. Pure functions.
import type { HostPolicy, Policy } from './policy.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { authorize } from './authorization.ts';
import type { AccessRequest } from './request-state.ts';
import { ok, refuse, type AuthorizationRefusals, type PolicyRefusals, type Refused, type Result, type WordedCode } from './result.ts';
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
    reasonPattern: host.reasonPattern ?? policy.defaults.reasonPattern,
    reasonHint: host.reasonHint ?? policy.defaults.reasonHint,
    requesters: host.requesters ?? policy.defaults.requesters,
  };
}

/**
 * The reason as it will be stored (trimmed), or why it is refused: missing where required (`missing`: the
 * refusal to give then), too long, or not matching the host's reasonPattern (told the reasonHint).
 */
export function checkReason(
  policy: Policy,
  host: HostPolicy,
  text: string,
  missing: () => Refused<keyof PolicyRefusals>,
): Decision<string, keyof PolicyRefusals> {
  const rules = hostRules(policy, host);
  const reason = text.trim();
  if (rules.requireReason && reason === '') return missing();
  const maxReason = policy.limits?.maxReasonLength ?? MAX_REASON_LENGTH;
  if (reason.length > maxReason)
    return refuse('reason-too-long', `reason of ${reason.length} characters over maxReasonLength ${maxReason}`, { length: reason.length, max: maxReason });
  if (reason !== '' && rules.reasonPattern !== undefined && !new RegExp(rules.reasonPattern).test(reason))
    return refuse('reason-mismatch', `reason does not match reasonPattern of ${host.name}`, { host: host.name, pattern: rules.reasonPattern, hint: rules.reasonHint });
  return ok(reason);
}

/** Whether the person is one of these Slack IDs (users, or members of user groups); undefined: cannot tell now. */
export type Membership = (ids: readonly string[]) => boolean | undefined;

/**
 * May `user` request `host`? Anyone, unless the host (or its rules, or the defaults) names requesters: then only
 * they (`member`: whether the person is among them), and nobody while that cannot be told (fail closed).
 */
export function checkRequester(policy: Policy, host: HostPolicy, user: string, member: Membership): Decision<null, 'not-a-requester' | 'requesters-unavailable'> {
  const requesters = hostRules(policy, host).requesters;
  const isRequester = requesters === undefined ? true : member(requesters);
  if (isRequester === undefined) return refuse('requesters-unavailable', `the requesters of ${host.name} cannot be listed now`, { host: host.name });
  if (!isRequester) return refuse('not-a-requester', `${user} is not among the requesters of ${host.name}`, { host: host.name, owners: host.owners });
  return ok(null);
}

/**
 * May `user` ask for access to `host` at all: the one rule for the typed `/jump request` and the request form's
 * host picker (requestable-hosts.ts). Not while its jump server is retired; not unless they are among its
 * requesters, where it names any (`member`; undefined where not checked here: the access decision checks them
 * first, apart, so that someone who may not ask hears that before anything else).
 */
export function mayRequestHost(policy: Policy, host: HostPolicy, user: string, member?: Membership): Decision<null, 'jump-host-retired' | 'not-a-requester' | 'requesters-unavailable'> {
  if (isRetired(policy, host.jumpHost))
    return refuse('jump-host-retired', `${host.name} is behind retired jump server ${host.jumpHost}`, { host: host.name, jumpHost: host.jumpHost });
  return member === undefined ? ok(null) : checkRequester(policy, host, user, member);
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
  const reason = checkReason(policy, host, input.reason, () => refuse('reason-required', `${host.name} requires a reason`, { host: host.name, durationMs }));
  if (!reason.ok) return reason;
  if (!input.hasKey) return refuse('no-key', 'no registered key', {});
  return ok({ host, durationMs, reason: reason.value, requiredApprovals: rules.approvals });
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

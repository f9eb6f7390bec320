// What the request form offers a person: the hosts they may request (mayRequestHost, the rule the typed
// `/jump request` applies too, so the picker never offers what the command would refuse) and durations within
// their limits. Pure.
import { hostRules, mayRequestHost, type Membership } from './access-policy.ts';
import type { HostPolicy, Policy } from './policy.ts';
import type { AccessRequest } from './request-state.ts';

/** Nobody's membership can be told: a host naming requesters is not offered. */
const UNKNOWN: Membership = () => undefined;

/**
 * The hosts the person may request, in policy order (mayRequestHost). A host naming requesters whose members
 * cannot be told now (`member` answers undefined) is not offered: fail closed, as the typed command refuses it.
 */
export function requestableHosts(policy: Policy, requester: string, member: Membership = UNKNOWN): HostPolicy[] {
  return policy.hosts.filter((h) => mayRequestHost(policy, h, requester, member).ok);
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The durations people mostly ask for; the form adds the policy's own (minimum, default, each host's maximum). */
const USUAL_DURATIONS = [5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, 24 * HOUR];
/** Slack's limit on the options of one select menu. */
export const MAX_FORM_OPTIONS = 100;

/**
 * The durations the form offers for these hosts: the policy's own, `also` (an earlier request's, prefilling
 * the form) and the usual ones, from minDuration up to the longest maxDuration among them, shortest first,
 * at most Slack's limit. A choice over one host's maximum is refused on submit in
 * the typed command's words (the picker cannot narrow the durations to the host chosen in the same form).
 */
export function formDurations(policy: Pick<Policy, 'defaults'>, hosts: readonly HostPolicy[], also: readonly number[] = []): number[] {
  const maxOf = (h: HostPolicy) => hostRules(policy, h).maxDurationMs;
  const min = policy.defaults.minDuration;
  const max = Math.max(min, ...hosts.map(maxOf));
  // Most wanted first, so that the cut at Slack's limit keeps the policy's own durations and the earlier one.
  const wanted = new Set([min, policy.defaults.duration, ...hosts.map(maxOf), ...also, ...USUAL_DURATIONS]);
  return [...wanted]
    .filter((ms) => ms >= min && ms <= max)
    .slice(0, MAX_FORM_OPTIONS)
    .sort((a, b) => a - b);
}

/** The duration the form starts with: the policy default, within the hosts' limits. */
export function defaultFormDuration(policy: Pick<Policy, 'defaults'>, hosts: readonly HostPolicy[]): number {
  const durations = formDurations(policy, hosts);
  const wanted = policy.defaults.duration;
  return durations.includes(wanted) ? wanted : durations.filter((ms) => ms <= wanted).at(-1) ?? durations[0] ?? wanted;
}

export interface FormHost {
  name: string;
  maxDurationMs: number;
  requireReason: boolean;
  /** what a good reason looks like (policy reasonHint) */
  reasonHint?: string;
}

/**
 * What the request form offers; `earlier`: the request it was opened from (Request again), prefilling it;
 * `selected`: the host chosen (picked in the form, or the earlier request's) and the duration to preselect.
 * With a host chosen, the durations are within that host's limits only.
 */
export interface RequestForm {
  hosts: FormHost[];
  durationsMs: number[];
  defaultDurationMs: number;
  maxReasonLength: number;
  earlier?: Pick<AccessRequest, 'id' | 'host' | 'durationMs' | 'reason'>;
  selected?: { host: string; durationMs?: number };
}

/**
 * The request form for `requester`: the hosts they may request with their limits, prefilled from `earlier` if
 * given; `chosen`: the host picked in the form (and the duration chosen so far), which narrows the durations;
 * `member`: whether the person is among the requesters of the hosts that name any (see requestableHosts).
 */
export function requestFormFor(
  policy: Policy,
  requester: string,
  earlier?: AccessRequest,
  chosen?: { host: string; durationMs?: number },
  member?: Membership,
): RequestForm {
  const hosts = requestableHosts(policy, requester, member);
  const pick = chosen ?? (earlier ? { host: earlier.host, durationMs: earlier.durationMs } : undefined);
  const picked = pick && hosts.find((h) => h.name === pick.host);
  const offeredFor = picked ? [picked] : hosts;
  const wanted = picked && pick.durationMs !== undefined ? [pick.durationMs] : [];
  return {
    hosts: hosts.map((h) => {
      const rules = hostRules(policy, h);
      return { name: h.name, maxDurationMs: rules.maxDurationMs, requireReason: rules.requireReason, ...(rules.reasonHint ? { reasonHint: rules.reasonHint } : {}) };
    }),
    durationsMs: formDurations(policy, offeredFor, wanted),
    defaultDurationMs: defaultFormDuration(policy, offeredFor),
    maxReasonLength: policy.limits.maxReasonLength,
    ...(earlier ? { earlier: { id: earlier.id, host: earlier.host, durationMs: earlier.durationMs, reason: earlier.reason } } : {}),
    ...(picked ? { selected: { host: picked.name, ...(pick.durationMs !== undefined ? { durationMs: pick.durationMs } : {}) } } : {}),
  };
}

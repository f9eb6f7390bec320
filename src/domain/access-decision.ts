// The access decision, in one pure function: who × host × request × time → how the request is granted (by its
// owners, by an auto-approval rule, or at once by break-glass), or why not. The slash command, the request form,
// break-glass and auto-approval all ask it; the service only expands the Slack user groups the policy names
// (`member`) and acts on the answer.
import { checkRequester, evaluateRequest, type Membership, type RequestDraft } from './access-policy.ts';
import { matchingRules } from './auto-approval.ts';
import { parseDuration } from './duration.ts';
import type { BreakGlassPolicy, Policy } from './policy.ts';
import { ok, refuse, type PolicyRefusals, type Result } from './result.ts';

export type { Membership };

export interface AccessAsk {
  user: string;
  hostName: string;
  duration?: string;
  reason: string;
  hasKey: boolean;
  /** `/jump breakglass`: access at once for the people the policy lists */
  breakGlass?: boolean;
}

export type AccessRoute = { route: 'owners' } | { route: 'auto-approved'; rule: number } | { route: 'break-glass'; reviewWithinMs: number };
export type AccessDecision = RequestDraft & AccessRoute;

/** The policy as break-glass reads it: every host's maximum is breakGlass.maxDuration, and a reason is required. */
function breakGlassView(policy: Policy, bg: BreakGlassPolicy): Policy {
  return { ...policy, hosts: policy.hosts.map((h) => ({ ...h, maxDuration: bg.maxDuration, requireReason: true })) };
}

export function decideAccess(policy: Policy, ask: AccessAsk, member: Membership, now: number): Result<AccessDecision, keyof PolicyRefusals> {
  const input = { hostName: ask.hostName, duration: ask.duration, reason: ask.reason, hasKey: ask.hasKey };
  const host = policy.hosts.find((h) => h.name === ask.hostName);
  if (!host) return evaluateRequest(policy, input) as Result<never, keyof PolicyRefusals>;
  // Who may ask comes before what they ask (a key, a reason): someone who may not request the host hears that first.
  const mayAsk = checkRequester(policy, host, ask.user, member);
  if (!mayAsk.ok) return mayAsk;
  if (ask.breakGlass) {
    const bg = policy.breakGlass;
    if (!bg || member(bg.users) !== true) return refuse('not-break-glass', `${ask.user} is not on the breakGlass list`, { host: host.name, owners: host.owners });
    const askedMs = ask.duration === undefined ? undefined : parseDuration(ask.duration);
    if (askedMs !== undefined && askedMs > bg.maxDuration) return refuse('break-glass-too-long', 'over breakGlass.maxDuration', { host: host.name, maxMs: bg.maxDuration });
    const draft = evaluateRequest(breakGlassView(policy, bg), input);
    return draft.ok ? ok({ ...draft.value, requiredApprovals: 1, route: 'break-glass', reviewWithinMs: bg.reviewWithin }) : draft;
  }
  const draft = evaluateRequest(policy, input);
  if (!draft.ok) return draft;
  // The first auto-approval rule that covers this person, host, length and time; a group it cannot list covers nobody.
  const rule = matchingRules(policy, host, draft.value.durationMs, now).find((i) => member(policy.autoApprove[i]!.users) === true);
  return ok({ ...draft.value, ...(rule === undefined ? { route: 'owners' as const } : { route: 'auto-approved' as const, rule: rule + 1 }) });
}

// Auto-approval: a request that matches an autoApprove rule (who, which host, how long, when) is granted without
// a click. The rules that could grant it are pure (domain/auto-approval.ts); membership needs the rule's user
// groups expanded (the owners' directory lists any group). The grant is made by the store's one approval step,
// with one approval needed and the broker as the approver; every message says "auto-approved (rule N)".
import { approvalRules } from '../domain/access-policy.ts';
import { matchingRules } from '../domain/auto-approval.ts';
import type { HostPolicy } from '../domain/policy.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { ServiceDeps } from './ports.ts';

/** The approver recorded for an auto-approved request (never a Slack user id). */
export const AUTO_APPROVER = 'jit-jump';

/** The number (from 1) of the first autoApprove rule that grants `user` this request now, if any. */
export async function autoApprovalRule(d: ServiceDeps, user: string, host: HostPolicy, durationMs: number): Promise<number | undefined> {
  for (const i of matchingRules(d.policy, host, durationMs, d.clock.now())) {
    const users = await d.owners.expand(d.policy.autoApprove[i]!.users);
    // A group Slack cannot list now grants nothing: the request goes to the owners as usual.
    if (users.ok && users.value.has(user)) return i + 1;
    if (!users.ok) d.logger.warn({ host: host.name, rule: i + 1, detail: users.message }, 'autoApprove rule skipped: user group unavailable');
  }
  return undefined;
}

/** Grants a request stored as auto-approved: true if it became active (else it waits for its owners). */
export async function grantAutomatically(d: ServiceDeps, req: AccessRequest, host: HostPolicy): Promise<boolean> {
  const result = await d.requests.approve(req, AUTO_APPROVER, d.clock.now(), { ...approvalRules(d.policy, host), requiredApprovals: 1 });
  return result.ok && result.value.activated;
}

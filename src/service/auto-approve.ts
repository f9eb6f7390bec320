// Auto-approval: a request the access decision routes to an autoApprove rule (domain/access-decision.ts) is
// granted without a click, by the store's one approval step, with one approval needed and the broker as the
// approver; every message says "auto-approved (rule N)".
import { approvalRules } from '../domain/access-policy.ts';
import type { HostPolicy } from '../domain/policy.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { AUTO_APPROVER } from '../domain/auto-approval.ts';
import type { ServiceDeps } from './ports.ts';

// Kept here too: the break-glass use case and tests import it from the use case that records it.
export { AUTO_APPROVER };

/** Grants a request stored as auto-approved: true if it became active (else it waits for its owners). */
export async function grantAutomatically(d: ServiceDeps, req: AccessRequest, host: HostPolicy): Promise<boolean> {
  const result = await d.requests.approve(req, AUTO_APPROVER, d.clock.now(), { ...approvalRules(d.policy, host), requiredApprovals: 1 });
  return result.ok && result.value.activated;
}

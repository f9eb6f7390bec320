// The current-policy rules a store approval is checked against (ApprovalRules), for tests about something else:
// the request is approvable as it was made, within a day of its creation.
import type { AccessRequest } from '../../src/domain/request-state.ts';
import type { ApprovalRules } from '../../src/domain/store-results.ts';

export function asRequested(req: Pick<AccessRequest, 'durationMs' | 'requiredApprovals'>, overrides: Partial<ApprovalRules> = {}): ApprovalRules {
  return { approvalTimeoutMs: 86_400_000, maxDurationMs: req.durationMs, requiredApprovals: req.requiredApprovals, maxTotalMs: 3 * req.durationMs, ...overrides };
}

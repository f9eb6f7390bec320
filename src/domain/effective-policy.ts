// What each host's policy is once the defaults and the rules its labels match are applied: what check-config
// prints, so an operator sees the rules' effect host by host before the broker runs it.
import { hostRules } from './access-policy.ts';
import { formatDuration } from './duration.ts';
import type { Policy } from './policy.ts';

export function effectivePolicyLines(policy: Policy): string[] {
  return policy.hosts.map((h) => {
    const r = hostRules(policy, h);
    const parts = [
      `owners ${h.owners.join(', ')}`,
      `${r.approvals} approval(s)`,
      `duration ${formatDuration(r.minDurationMs)}–${formatDuration(r.maxDurationMs)}`,
      `at most ${formatDuration(r.maxTotalMs)} with extensions${r.selfExtendMs > 0 ? ` (${formatDuration(r.selfExtendMs)} without approval)` : ''}`,
      r.requireReason ? 'reason required' : 'reason optional',
      ...(r.reasonPattern ? [`reason matching ${r.reasonPattern}`] : []),
      `requesters ${r.requesters?.join(', ') ?? 'anyone'}`,
      ...(h.appliedRules ? [`from rules ${h.appliedRules.map((i) => `rules[${i}]`).join(', ')}`] : []),
    ];
    return `host ${h.name}: ${parts.join('; ')}`;
  });
}

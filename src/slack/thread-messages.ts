// The replies in the thread of the approval message: one per step of the request's story after it was asked
// for (request-step.ts), so that who approved, when access began and how it ended read in one place. Where the
// step is an outcome the approval message also shows, the reply says it in the same words.
import { formatDuration } from '../domain/duration.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { RequestStep, RequestStepKind } from '../domain/request-step.ts';
import { shortenedSentence } from './approve-for.ts';
import { outcomeText, usageSentence } from './messages.ts';
import { userMention } from './mrkdwn.ts';
import { slackDate, withDateFallbacks } from './slack-date.ts';

type StepOf<K extends RequestStepKind> = Extract<RequestStep, { kind: K }>;

/** The words of each step, from the request as it stands after it (a new step without words does not compile). */
const STEP_TEXT: { [K in RequestStepKind]: (r: AccessRequest, step: StepOf<K>) => string } = {
  approved: (r, s) => `:ballot_box_with_check: Approval recorded by ${userMention(s.by)} (${s.approvals} of ${s.required})${shortenedSentence(r)}.`,
  activated: (r) => `:white_check_mark: ${lastApproval(r)}access is active until ${slackDate(r.expiresAt ?? 0)}. The requester has the connect instructions.`,
  'not-activated': (r) => outcomeText(r),
  denied: (r) => outcomeText(r),
  cancelled: (r) => outcomeText(r),
  'timed-out': (r) => outcomeText(r),
  expired: (r) => `:lock: Expired ${slackDate(r.expiresAt ?? r.endedAt ?? 0)}.${usageSentence(r)}`,
  revoked: (r) => outcomeText(r),
  extended: (_r, s) =>
    `:hourglass_flowing_sand: Extended by ${formatDuration(s.durationMs)} (${s.approvedBy.length ? `approved by ${s.approvedBy.map(userMention).join(', ')}` : 'within selfExtend'}): access now ends ${slackDate(s.endsAt)}.`,
};

/** "Approved by <@U2> (2 of 2): " — the approval that made the grant (the earlier ones have replies of their own). */
function lastApproval(r: AccessRequest): string {
  if (r.autoApproved !== undefined) return `Auto-approved (rule ${r.autoApproved}): `;
  const last = r.approvers.at(-1);
  if (last === undefined) return 'Approved: ';
  return `Approved by ${userMention(last)}${r.requiredApprovals > 1 ? ` (${r.approvers.length} of ${r.requiredApprovals})` : ''}${shortenedSentence(r)}: `;
}

/** A thread reply: the step's sentence (verbatim: it may quote a deny reason, another person's words). */
export function stepMessage(r: AccessRequest, step: RequestStep): { text: string; blocks: { type: string; [key: string]: unknown }[] } {
  const line = (STEP_TEXT[step.kind] as (r: AccessRequest, s: RequestStep) => string)(r, step);
  return { text: withDateFallbacks(line), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: line, verbatim: true } }] };
}

// Every Block Kit message and Slack text the broker sends (replies, DMs, approval messages, audit lines), built
// from domain values: one place to reword.
// The use cases answer with coded replies and name domain events, and domain rules refuse with a code and its
// data; this module words them all. No I/O.
import type { AuditEvent } from '../domain/audit-event.ts';
import type { ConnectInstructions } from '../domain/connect-instructions.ts';
import { formatDuration } from '../domain/duration.ts';
import type { AccessRequest, RequestState } from '../domain/request-state.ts';
import type { RefusalDetail, RefusalParams, WordedCode } from '../domain/result.ts';
import { echo, oneLine } from '../domain/user-text.ts';
import type { Reply } from '../service/replies.ts';
import { approveForSelect, shortenedSentence } from './approve-for.ts';
import { auditSummaryMessage } from './audit-summary-view.ts';
import type { MessageMetadata } from './message-metadata.ts';
import { escapeMrkdwn, ownerMention, placeholder, userMention, userTextForOthers } from './mrkdwn.ts';
import { slackDate, withDateFallbacks } from './slack-date.ts';

export const ACTION_APPROVE = 'jit_approve';
export const ACTION_DENY = 'jit_deny';
export const VIEW_DENY_REASON = 'jit_deny_reason';
export const DENY_REASON_BLOCK = 'reason';
export const DENY_REASON_INPUT = 'reason_input';
/** "I'm done": the requester (or an owner) ends the grant now, as `/jump revoke <id>` does. */
export const ACTION_IM_DONE = 'jit_im_done';
/** "Request again": opens the request form prefilled from an ended or refused request. */
export const ACTION_REQUEST_AGAIN = 'jit_request_again';
/** The Request again form before it became the request form (request-form.ts): its submissions still count. */
export const VIEW_REQUEST_AGAIN = 'jit_request_again';
/** "Extend": opens the form that asks for more time on an active grant (`/jump extend`). */
export const ACTION_EXTEND = 'jit_extend';
/** "Acknowledge": an owner's post-hoc review of a break-glass grant. */
export const ACTION_ACKNOWLEDGE = 'jit_acknowledge';
export const VIEW_EXTEND = 'jit_extend';
/** The Extend form's fields: block id and action id alike. */
export const EXTEND_FIELDS = { duration: 'duration', reason: 'reason' } as const;
/** The form's fields: block id and action id alike. */
export const REQUEST_FIELDS = { host: 'host', duration: 'duration', reason: 'reason' } as const;
export type RequestField = keyof typeof REQUEST_FIELDS;

/** Slack's limits for section text (3000) and field text (2000). */
const SECTION_LIMIT = 3000;
const FIELD_LIMIT = 2000;
/** The most of a deny reason the outcome shows (UTF-16 units, escaped), well inside the section limit. */
const DENY_REASON_SHOWN = 2000;

/** Clips the bot's own text (policy names): never between the halves of a surrogate pair. */
function clip(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const cut = text.slice(0, limit - 1);
  return `${/[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

type Block = { type: string; [key: string]: unknown };

/** A time as each reader sees it (slack-date.ts): "today at 06:32"; never write "at" before it. */
const when = slackDate;

/** "Approved by <@U1>, <@U2>" (and " for 30m of the 2h asked (shortened by <@U1>)" where an approver shortened
 *  it), or "Auto-approved (rule 2)" for a request an autoApprove rule granted. */
export function approvedSentence(r: Pick<AccessRequest, 'approvers' | 'autoApproved' | 'reviewBy' | 'durationMs' | 'approvedMs' | 'shortenedBy'>): string {
  if (r.reviewBy !== undefined) return 'Break-glass: no approval';
  return r.autoApproved !== undefined ? `Auto-approved (rule ${r.autoApproved})` : `Approved by ${r.approvers.map(userMention).join(', ')}${shortenedSentence(r)}`;
}

export function outcomeText(r: AccessRequest): string {
  switch (r.state) {
    case 'pending':
      return r.approvers.length > 0
        ? `:hourglass: Approved by ${r.approvers.map(userMention).join(', ')}${shortenedSentence(r)}; ${r.requiredApprovals - r.approvers.length} more approval(s) needed.`
        : ':hourglass: Waiting for approval.';
    case 'active':
      // A grant read back without its expiry (never stored so) must not show a 1970 date.
      if (r.expiresAt === undefined) return `:white_check_mark: ${approvedSentence(r)}. Installing the key…`;
      return `:white_check_mark: ${approvedSentence(r)}. Active until ${when(r.expiresAt ?? 0)}.`;
    case 'expired':
      return `:white_check_mark: ${approvedSentence(r)}. :lock: Expired ${when(r.expiresAt ?? r.endedAt ?? 0)}.${usageSentence(r)}`;
    case 'revoked':
      if (r.endReason === 'key-changed') return `:lock: Ended ${when(r.endedAt ?? 0)}: the requester’s key changed; access is granted for the approved key only.${usageSentence(r)}`;
      if (r.endReason === 'jump-host-retired') return `:lock: Ended ${when(r.endedAt ?? 0)}: jump server ${escapeMrkdwn(r.jumpHost)} retired.${usageSentence(r)}`;
      return `:lock: Revoked by ${userMention(r.decidedBy ?? '')} ${when(r.endedAt ?? 0)}.${usageSentence(r)}`;
    case 'denied':
      if (r.policyMaxMs !== undefined) return `:x: Not approved: ${overMaxDuration(r, r.policyMaxMs)} The requester was asked to request again.`;
      return `:x: Denied by ${userMention(r.decidedBy ?? '')}${r.denyReason ? `: ${userTextForOthers(r.denyReason, DENY_REASON_SHOWN)}` : '.'}`;
    case 'extended':
      return `:white_check_mark: Approved by ${r.approvers.map(userMention).join(', ')}: extended by ${formatDuration(r.durationMs)}. Access now ends ${when(r.expiresAt ?? 0)}.`;
    case 'cancelled':
      if (r.endReason === 'key-changed') return ':heavy_minus_sign: Cancelled: the requester’s key changed after the request.';
      if (r.endReason === 'grant-ended') return ':heavy_minus_sign: Not decided before the grant ended: nothing was extended.';
      // An owner may cancel too (`/jump revoke <id>`): say who.
      return r.decidedBy !== undefined && r.decidedBy !== r.requester
        ? `:heavy_minus_sign: Cancelled by ${userMention(r.decidedBy)} (an owner).`
        : ':heavy_minus_sign: Cancelled by the requester.';
    case 'timed-out':
      return ':heavy_minus_sign: Timed out without a decision.';
    case 'failed':
      if (r.endReason === 'key-changed') return ':warning: Approved, but not installed: the requester’s key changed after the request.';
      return ':warning: Approved, but installing the key on the jump server failed.';
  }
}

/** " Used 14 min in 3 connections from … to …." / " Not used.": how an ended grant was used, where that is known. */
export function usageSentence(r: Pick<AccessRequest, 'usage'>): string {
  return r.usage ? ` ${escapeMrkdwn(r.usage.charAt(0).toUpperCase() + r.usage.slice(1))}.` : '';
}

/** A request that asks for longer than its host allows now (the policy changed after it was made). */
function overMaxDuration(r: { host: string; durationMs: number }, maxMs: number): string {
  return `it asks for ${formatDuration(r.durationMs)}, but ${escapeMrkdwn(r.host)} now allows at most ${formatDuration(maxMs)}.`;
}

const REASON_LABEL = '*Reason*\n';

/** What the approval message says while it waits, besides the request: when it times out, and (the approval
 *  channel's copy) whom it asks, as mentions of the host's owners (users and user groups). */
export interface ApprovalAsk {
  timesOutAt?: number;
  mention?: readonly string[];
  /** the policy's minDuration: the shortest time offered next to Approve (shorter approvals) */
  minMs?: number;
}

/** The approval request; while pending it carries the buttons, afterwards the outcome replaces them. */
export function approvalMessage(r: AccessRequest, ask: ApprovalAsk = {}): { text: string; blocks: Block[] } {
  // A break-glass grant waits for its owners' review as a request waits for their decision.
  const unreviewed = r.reviewBy !== undefined && r.acknowledgedBy === undefined;
  const mentions = (r.state === 'pending' || unreviewed) && ask.mention?.length ? `${ask.mention.map(ownerMention).join(' ')}: ` : '';
  // An extension asks for more time on a grant that runs on meanwhile; break-glass took it without asking.
  const text = r.reviewBy
    ? `${mentions}:rotating_light: BREAK-GLASS: ${userMention(r.requester)} took access to ${r.host} for ${formatDuration(r.durationMs)} without approval`
    : r.extends
    ? `${mentions}${userMention(r.requester)} asks to extend access to ${r.host} by ${formatDuration(r.durationMs)}`
    : `${mentions}${userMention(r.requester)} requests access to ${r.host} for ${formatDuration(r.durationMs)}`;
  const heading = r.reviewBy
    ? `:rotating_light: *Break-glass*: ${userMention(r.requester)} took SSH access to *${escapeMrkdwn(r.host)}* without approval. Review it: acknowledge by ${when(r.reviewBy)}, or it escalates to the audit channel.`
    : r.extends
    ? `${userMention(r.requester)} asks to extend SSH access to *${escapeMrkdwn(r.host)}* (grant \`${r.extends}\`) by ${formatDuration(r.durationMs)}`
    : `${userMention(r.requester)} requests SSH access to *${escapeMrkdwn(r.host)}*`;
  const blocks: Block[] = [
    { type: 'section', text: { type: 'mrkdwn', text: clip(heading, SECTION_LIMIT) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Host*\n${escapeMrkdwn(r.host)}` },
        { type: 'mrkdwn', text: `*${r.extends ? 'Extension' : 'Duration'}*\n${formatDuration(r.durationMs)}` },
        // The requester's words, shown to the owners: one line, so it cannot draw rows of its own (a forged
        // "*Approvals*"); verbatim, so Slack makes no links or mentions of it.
        { type: 'mrkdwn', text: `${REASON_LABEL}${r.reason ? userTextForOthers(r.reason, FIELD_LIMIT - REASON_LABEL.length) : '_none given_'}`, verbatim: true },
        { type: 'mrkdwn', text: `*Approvals*\n${r.approvers.length} of ${r.requiredApprovals}` },
        // The key that will be installed: the grant is bound to it (a key change ends it).
        ...(r.keyFingerprint ? [{ type: 'mrkdwn', text: `*Key*\n\`${escapeMrkdwn(r.keyFingerprint)}\`` }] : []),
      ],
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Request \`${r.id}\` · jump server ${escapeMrkdwn(r.jumpHost)}` }] },
  ];
  if (r.state === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: `decision:${r.id}`,
      elements: [
        { type: 'button', action_id: ACTION_APPROVE, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: r.id },
        // Approve for less than asked: the choice is read with the Approve click (approve-for.ts).
        ...[approveForSelect(r, ask.minMs ?? 0)].filter((b) => b !== undefined),
        { type: 'button', action_id: ACTION_DENY, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: r.id },
      ],
    });
    if (r.approvers.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: outcomeText(r) }] });
    const waiting = askText(ask);
    if (waiting) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: waiting }] });
  } else {
    // verbatim: the outcome may quote the deny reason, another person's words.
    blocks.push({ type: 'section', block_id: 'outcome', text: { type: 'mrkdwn', text: outcomeText(r), verbatim: true } });
    if (unreviewed)
      blocks.push({ type: 'actions', block_id: `review:${r.id}`, elements: [{ type: 'button', action_id: ACTION_ACKNOWLEDGE, style: 'primary', text: { type: 'plain_text', text: 'Acknowledge' }, value: r.id }] });
    else if (r.acknowledgedBy) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Break-glass acknowledged by ${userMention(r.acknowledgedBy)} ${when(r.acknowledgedAt ?? 0)}.` }] });
  }
  return { text: `${text}: ${withDateFallbacks(outcomeText(r))}`, blocks };
}

/** "For <@U1> <!subteam^S1>. Times out today at 15:00 unless decided." (either part where known) */
function askText(ask: ApprovalAsk): string {
  const parts = [
    ...(ask.mention?.length ? [`For ${ask.mention.map(ownerMention).join(' ')}.`] : []),
    ...(ask.timesOutAt !== undefined ? [`Times out ${when(ask.timesOutAt)} unless decided.`] : []),
  ];
  return parts.join(' ');
}

/** ", approved by <@U1> and <@U2>" (the activation DM names who let the person in). */
function approvedBy(r: AccessRequest): string {
  if (r.autoApproved !== undefined) return `, auto-approved (rule ${r.autoApproved})`;
  return r.approvers.length ? `, approved by ${r.approvers.map(userMention).join(' and ')}${shortenedSentence(r)}` : '';
}

export function connectMessage(r: AccessRequest, c: ConnectInstructions): { text: string; blocks: Block[] } {
  const until = new Date(r.expiresAt ?? 0).toISOString();
  return {
    text: `Access to ${r.host} is active until ${until}. Connect with: ${c.command}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `:key: Access to *${escapeMrkdwn(r.host)}* is active until ${when(r.expiresAt ?? 0)} (request \`${r.id}\`)${approvedBy(r)}.` } },
      { type: 'section', text: { type: 'mrkdwn', text: `Connect with:\n\`\`\`${c.command}\`\`\`` } },
      { type: 'section', text: { type: 'mrkdwn', text: `Or add this to \`~/.ssh/config\` and run \`ssh ${escapeMrkdwn(r.host)}\`:\n\`\`\`${c.sshConfig}\`\`\`` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'Type the host address exactly as shown: the jump server allows only that address and port. Your key stops working at the time above.' }],
      },
      imDoneActions(r),
    ],
  };
}

/** The button that hands a grant back: its value is the request id only (the click is authorized afresh). */
function imDoneActions(r: Pick<AccessRequest, 'id'>): Block {
  return {
    type: 'actions',
    block_id: `grant:${r.id}`,
    elements: [{ type: 'button', action_id: ACTION_IM_DONE, text: { type: 'plain_text', text: "I'm done: end my access now" }, value: r.id }],
  };
}

function requestAgainActions(r: Pick<AccessRequest, 'id'>): Block {
  return {
    type: 'actions',
    block_id: `again:${r.id}`,
    elements: [{ type: 'button', action_id: ACTION_REQUEST_AGAIN, text: { type: 'plain_text', text: 'Request again' }, value: r.id }],
  };
}

/** A DM of one sentence, with a button under it. */
function withButton(text: string, button: Block): { text: string; blocks: Block[] } {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, SECTION_LIMIT) } }, button] };
}

/** The expiry warning's buttons: hand the grant back now, or ask for more time. */
function warningActions(r: Pick<AccessRequest, 'id'>): Block {
  const [imDone] = (imDoneActions(r) as unknown as { elements: Block[] }).elements;
  const extend = { type: 'button', action_id: ACTION_EXTEND, text: { type: 'plain_text', text: 'Extend…' }, value: r.id };
  return { type: 'actions', block_id: `grant:${r.id}`, elements: [imDone, extend] };
}

/** The DMs to the requester that carry a button: the expiry warning (I'm done, Extend) and the ends (Request again). */
export const requesterMessages = {
  expiryWarning: (r: AccessRequest, leftMs: number) => withButton(requesterTexts.expiryWarning(r, leftMs), warningActions(r)),
  requestDenied: (r: AccessRequest) => withButton(requesterTexts.requestDenied(r), requestAgainActions(r)),
  requestTimedOut: (r: AccessRequest) => withButton(requesterTexts.requestTimedOut(r), requestAgainActions(r)),
  grantEnded: (r: AccessRequest) => withButton(requesterTexts.grantEnded(r), requestAgainActions(r)),
  /** the DM whose I'm done was clicked, updated in place: the grant has ended, no button to end it any more */
  endedInPlace: (r: AccessRequest) =>
    withButton(
      r.state === 'revoked' && r.decidedBy === r.requester
        ? `:lock: You ended your access to *${escapeMrkdwn(r.host)}* (\`${r.id}\`).${usageSentence(r)}`
        : `:lock: Access to *${escapeMrkdwn(r.host)}* (\`${r.id}\`) has ended: it is ${STATE_WORDS[r.state]}.${usageSentence(r)}`,
      requestAgainActions(r),
    ),
};

/** The Extend form: how much longer and why; the grant's id travels as private_metadata. */
export function extendModal(r: Pick<AccessRequest, 'id' | 'host' | 'expiresAt'>, defaultMs: number): Block {
  const input = (field: keyof typeof EXTEND_FIELDS, label: string, element: Record<string, unknown>, optional = false) => ({
    type: 'input',
    block_id: EXTEND_FIELDS[field],
    label: { type: 'plain_text', text: label },
    element: { type: 'plain_text_input', action_id: EXTEND_FIELDS[field], ...element },
    ...(optional ? { optional: true } : {}),
  });
  return {
    type: 'modal',
    callback_id: VIEW_EXTEND,
    private_metadata: r.id,
    title: { type: 'plain_text', text: 'Extend access' },
    submit: { type: 'plain_text', text: 'Extend' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `Access to *${escapeMrkdwn(r.host)}* (\`${r.id}\`) ends ${when(r.expiresAt ?? 0)}.` } },
      input('duration', 'How much longer (e.g. 30m, 1h)', { initial_value: formatDuration(defaultMs), max_length: 20 }),
      input('reason', 'Why', { multiline: true, max_length: 500 }, true),
    ],
  };
}

/** The form field a refusal of an extension belongs under. */
export function extendFieldOfReply(reply: Reply): keyof typeof EXTEND_FIELDS {
  if (reply.kind === 'refused' && (reply.code === 'extension-reason-required' || reply.code === 'reason-too-long')) return 'reason';
  return 'duration';
}

/** The request form once submitted: what `/jump request` would have answered. */
export function requestSentView(text: string, title = 'Request access'): Block {
  return {
    type: 'modal',
    callback_id: title === 'Request access' ? VIEW_REQUEST_AGAIN : VIEW_EXTEND,
    title: { type: 'plain_text', text: title },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, SECTION_LIMIT) } }],
  };
}

/** The form's field a refusal belongs under (Slack shows a view_submission error next to one input). */
export function fieldOfReply(reply: Reply): RequestField {
  if (reply.kind !== 'refused') return 'host';
  if (reply.code === 'bad-duration' || reply.code === 'duration-too-long' || reply.code === 'duration-too-short') return 'duration';
  if (reply.code === 'reason-required' || reply.code === 'reason-too-long') return 'reason';
  return 'host';
}

export function denyReasonModal(requestId: string, host: string): Block {
  return {
    type: 'modal',
    callback_id: VIEW_DENY_REASON,
    private_metadata: requestId,
    title: { type: 'plain_text', text: 'Deny access' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `Deny request \`${requestId}\` for *${escapeMrkdwn(host)}*?` } },
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason (sent to the requester)' },
        element: { type: 'plain_text_input', action_id: DENY_REASON_INPUT, multiline: true, max_length: 500 },
      },
    ],
  };
}

/** A Slack-side refusal or failure, answered before any use case runs. */
export const SLACK_REPLIES = {
  tryAgain: 'jit-jump could not reach its database just now; nothing was changed. Please try again in a minute.',
  cannotVerify: 'jit-jump could not check which workspace this came from just now; nothing was changed. Please try again in a minute.',
  otherWorkspace: 'This jit-jump installation does not serve your Slack workspace.',
  notFromSlack: 'jit-jump refused this request: it did not come from Slack.',
  working: 'Working on it…',
  denyReasonNeeded: 'Say why, so the requester knows what to do instead.',
  formNotOpened: 'Slack did not open the form for the reason (the click may have taken too long to answer); nothing was changed. Click Deny again.',
  requestFormNotOpened: 'Slack did not open the request form (the click may have taken too long to answer); nothing was changed. Click the button once more.',
  extendFormNotOpened: 'Slack did not open the form (the click may have taken too long to answer); nothing was changed. Click Extend once more, or use `/jump extend`.',
} as const;

/** `/jump help`: every verb parseCommand understands. Placeholders are escaped (`&lt;host&gt;`): see placeholder(). */
export const HELP_TEXT = [
  '*jit-jump*: just-in-time SSH access through the jump server.',
  `\`/jump key add ${placeholder('ssh public key')}\`: register your public key (one per person; replacing it ends your active grants and pending requests)`,
  '`/jump key`: show your registered key',
  '`/jump key remove`: delete your registered key (ends your active grants and pending requests)',
  `\`/jump request ${placeholder('host')} [duration] [reason…]\`: ask the host’s owners for access, e.g. \`/jump request db-prod-1 2h fix replication\``,
  '`/jump request`: the same as a form (pick a host, a duration and say why); the Home tab of the jit-jump app has it too, with your requests and grants',
  `\`/jump extend ${placeholder('id')} ${placeholder('duration')} [reason…]\`: ask for more time on your active grant, e.g. \`/jump extend r1a2b3c4 1h still migrating\``,
  `\`/jump breakglass ${placeholder('host')} [duration] ${placeholder('reason')}\`: emergency access at once, without approval (only for the people the policy lists; loud and reviewed)`,
  '`/jump list`: your open requests and active grants (owners: what awaits your decision); `/jump list all`: owners see everything pending and active on their hosts',
  `\`/jump revoke ${placeholder('id')}\`: end your own grant (or cancel a pending request) now`,
  '`/jump help`: this text',
].join('\n');

/** `/jump help`, for the people who may use `/jump audit` (auditors, owners). */
export const AUDIT_HELP =
  '`/jump audit [host|@person] [since]`: a summary of the audit trail (grants, who approved, granted and used time, break-glass, refusals, denials), ' +
  'since `7d` (the default), `24h` or a date such as `2026-11-01`; auditors see every host, owners their own hosts';

const KEY_HELP = 'Paste the one line from your *.pub file, e.g. `/jump key add ssh-ed25519 AAAAC3Nz… you@laptop`.';
const MAKE_ED25519 = 'Make an ed25519 key: `ssh-keygen -t ed25519`.';

/** Told whenever a private key was pasted, whatever the command: it must be rotated. */
export const PRIVATE_KEY_MESSAGE =
  'That was a *private* key. It was not stored or logged, but it has now been sent through Slack: treat it as leaked, ' +
  'delete it, make a new key pair (`ssh-keygen -t ed25519`) and register the new *public* key (the .pub file).';

/** The sentence of every refusal, by code (a table, so that a new code without words does not compile). */
const REFUSAL_TEXT: { [C in WordedCode]: (p: RefusalParams[C]) => string } = {
  'unknown-host': (p) =>
    `Unknown host "${echo(p.host, 64)}". Hosts you can request: ${p.known.map((h) => `\`${h}\``).join(', ')}.`,
  'jump-host-retired': (p) =>
    `${p.host} is reached through the jump server ${p.jumpHost}, which is being retired: it takes no new access. Ask the owners of ${p.host} how it is reached now.`,
  'bad-duration': (p) =>
    `"${echo(p.text, 20)}" is not a duration. Use e.g. \`30m\`, \`2h\` or \`1h30m\`.`,
  'duration-too-long': (p) => {
    const { host, maxMs } = p;
    return `${host} allows at most ${formatDuration(maxMs)}. Try \`/jump request ${host} ${formatDuration(maxMs)} …\`.`;
  },
  'duration-too-short': (p) =>
    `The shortest grant is ${formatDuration(p.minMs)}. Try \`/jump request ${p.host} ${formatDuration(p.minMs)} …\`.`,
  'reason-required': (p) => {
    const { host, durationMs } = p;
    return `A reason is required for ${host}: \`/jump request ${host} ${formatDuration(durationMs)} ${placeholder('why you need access')}\`.`;
  },
  'not-break-glass': (p) =>
    `You are not on the break-glass list. For access to ${p.host}, request it (\`/jump request ${p.host} …\`) or ask its owners: ${p.owners.map(ownerMention).join(', ')}.`,
  'break-glass-too-long': (p) =>
    `Break-glass access lasts at most ${formatDuration(p.maxMs)}. Try \`/jump breakglass ${p.host} ${formatDuration(p.maxMs)} ${placeholder('why')}\`.`,
  'reason-mismatch': (p) =>
    `The reason for ${p.host} ${p.hint ? `does not fit: ${escapeMrkdwn(p.hint)}` : `must match \`${escapeMrkdwn(p.pattern)}\``}.`,
  'not-a-requester': (p) =>
    `Only the people named as requesters of ${p.host} may request it. To be added, ask its owners: ${p.owners.map(ownerMention).join(', ')}.`,
  'requesters-unavailable': (p) =>
    `Cannot verify who may request ${p.host} right now (Slack does not list their user group). Try again in a few minutes.`,
  'reason-too-long': (p) =>
    `The reason is too long (${p.length} characters; at most ${p.max}).`,
  'no-key': () =>
    'Register your public key first: `/jump key add ssh-ed25519 AAAA… you@laptop`, then request again.',
  'already-approved': (p) =>
    `You already approved; ${p.remaining} more approval(s) from other owners are needed.`,
  'self-approval': () =>
    'You cannot approve your own request.',
  'approval-too-late': (p) =>
    `Too late: a request for ${p.host} must be decided within ${formatDuration(p.timeoutMs)}. It has timed out; the requester can request again.`,
  'grant-not-active': (p) =>
    `Grant \`${p.id}\` is ${p.state in STATE_WORDS ? STATE_WORDS[p.state as RequestState] : p.state}: it can no longer be extended. Request access again instead.`,
  'extension-too-long': (p) =>
    `One extension of a grant on ${p.host} is at most ${formatDuration(p.maxMs)}. Try \`/jump extend ${p.id} ${formatDuration(p.maxMs)} …\`.`,
  'extension-too-short': (p) =>
    `The shortest extension is ${formatDuration(p.minMs)}. Try \`/jump extend ${p.id} ${formatDuration(p.minMs)} …\`.`,
  'extension-over-total': (p) =>
    p.leftMs >= 1000
      ? `A grant on ${p.host} lasts at most ${formatDuration(p.maxTotalMs)} in all (maxTotalDuration): this one can be extended by at most ${formatDuration(p.leftMs)} more.`
      : `A grant on ${p.host} lasts at most ${formatDuration(p.maxTotalMs)} in all (maxTotalDuration): this one cannot be extended any further. Request access again when it ends.`,
  'extension-reason-required': (p) =>
    `A reason is required: \`/jump extend ${p.id} ${formatDuration(p.durationMs)} ${placeholder('why you need more time')}\`.`,
  'extension-waiting': (p) =>
    `An extension of \`${p.id}\` (\`${p.extensionId}\`) is already waiting for its owners. Wait for their decision, or cancel it with \`/jump revoke ${p.extensionId}\`.`,
  'extension-grant-ended': (p) =>
    `Too late: grant \`${p.id}\` ended before this extension was approved. Nothing was extended; the requester is told.`,
  'approve-bad-duration': (p) =>
    `Not a duration to approve for: "${escapeMrkdwn(p.text)}". Choose one of the times next to Approve.`,
  'approve-longer-than-asked': (p) =>
    `You can approve for at most the ${formatDuration(p.askedMs)} asked, not ${formatDuration(p.chosenMs)}. Nothing was approved.`,
  'approve-under-min': (p) =>
    `The shortest grant is ${formatDuration(p.minMs)}: you cannot approve for ${formatDuration(p.chosenMs)}. Nothing was approved.`,
  'approve-shorter-extension': (p) =>
    `An extension is approved for the ${formatDuration(p.askedMs)} asked or denied; it cannot be shortened. Nothing was approved.`,
  'approval-over-max-duration': (p) =>
    `This request cannot be approved: ${overMaxDuration({ host: p.host, durationMs: p.durationMs }, p.maxMs)} It has ended, and the requester is told to request again within ${formatDuration(p.maxMs)}.`,
  'not-owner': (p) => {
    const { action, host = 'this host' } = p;
    if (action === 'request-again') return 'Only the person who made this request can request it again.';
    if (action === 'extend') return 'Only the person who holds this grant can ask to extend it.';
    if (action === 'acknowledge') return `Only an owner of ${host} other than the person who broke the glass can acknowledge it.`;
    return action === 'approve' || action === 'deny'
      ? `Only the owners of ${host} can ${action} this request.`
      : `Only the requester or an owner of ${host} can ${action} this request.`;
  },
  'not-allowed': () =>
    'You may not do that.',
  'owners-unavailable': (p) =>
    `Cannot verify the owners of ${p.host} right now (Slack does not list their user group). Try again in a few minutes.`,
  'private-key-pasted': () =>
    PRIVATE_KEY_MESSAGE,
  'key-too-long': () =>
    `That is too long to be a public key. ${KEY_HELP}`,
  'key-missing': () =>
    `No key given. ${KEY_HELP}`,
  'key-not-one-line': () =>
    `Give exactly one key on one line. ${KEY_HELP}`,
  'key-control-characters': () =>
    `The key contains control characters. ${KEY_HELP}`,
  'key-dsa': () =>
    `DSA keys are too weak and are refused. ${MAKE_ED25519}`,
  'key-certificate': () =>
    `Certificates are not accepted; register the plain public key. ${KEY_HELP}`,
  'key-security-key': () =>
    'Security-key (sk-…) keys are not supported yet. Register an ed25519 key: `ssh-keygen -t ed25519`.',
  'key-no-type': () =>
    `A key must start with its type (ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa); nothing may stand before it. ${KEY_HELP}`,
  'key-bad-base64': () =>
    `The key data is not valid base64. ${KEY_HELP}`,
  'key-unparsable': () =>
    `That is not a valid OpenSSH public key. ${KEY_HELP}`,
  'key-not-round-trip': () =>
    `That key does not round-trip cleanly (extra or damaged data). ${KEY_HELP}`,
  'key-type-mismatch': (p) =>
    `The key type ${p.type} does not match its data. ${KEY_HELP}`,
  'key-rsa-too-small': (p) =>
    `RSA keys must have at least ${p.minBits} bits (this one has ${p.bits}). ${MAKE_ED25519}`,
  'key-is-broker-key': (p) =>
    `That is the public key jit-jump itself uses to log in to the jump server ${p.jumpHost}: it cannot be anyone's personal key. ${MAKE_ED25519}`,
  'key-stands-outside-block': (p) =>
    `That key already has standing access to the jump server ${p.jumpHost} outside jit-jump, so jit-jump cannot grant or end access for it. ` +
    `Register a key used only through jit-jump (\`ssh-keygen -t ed25519\`), or ask the jump server's operators to remove the standing line.`,
  'command-too-long': (p) =>
    `That command is too long (over ${p.max} characters).`,
  'request-needs-host': () =>
    `Name a host: \`/jump request ${placeholder('host')} [duration] [reason…]\`, e.g. \`/jump request db-prod-1 2h fix replication\`.`,
  'key-add-needs-key': () =>
    'Paste your public key after `key add`, e.g. `/jump key add ssh-ed25519 AAAAC3Nz… you@laptop`.',
  'unknown-key-command': (p) =>
    `Unknown key command "${echo(p.text, 40)}". Use \`/jump key add ${placeholder('public key')}\`, \`/jump key remove\` or \`/jump key\`.`,
  'break-glass-needs-host': () =>
    `Name the host and why: \`/jump breakglass ${placeholder('host')} [duration] ${placeholder('reason')}\`.`,
  'extend-needs-id-and-duration': () =>
    `Name the grant and how much longer: \`/jump extend ${placeholder('id')} ${placeholder('duration')} [reason…]\`, e.g. \`/jump extend r1a2b3c4 1h still migrating\` (see \`/jump list\`).`,
  'revoke-needs-id': () =>
    `Name the request: \`/jump revoke ${placeholder('id')}\` (see \`/jump list\`).`,
  'not-auditor': (p) =>
    p.host !== undefined
      ? `Only the auditors and the owners of ${escapeMrkdwn(p.host)} may read its audit trail.`
      : 'Only the people listed as `auditors` in the policy, and the owners of a host (for their hosts), may read the audit trail.',
  'auditors-unavailable': () =>
    'Cannot verify who the auditors are right now (Slack does not list their user group). Try again in a few minutes.',
  'audit-bad-since': (p) =>
    `"${echo(p.text, 30)}" is not a time to start from. Use e.g. \`7d\`, \`24h\`, a date such as \`2026-11-01\` (UTC) or a time with its zone such as \`2026-11-01T08:00:00Z\`.`,
  'audit-since-future': (p) =>
    `${when(p.at)} is in the future: a summary covers what already happened. Try \`/jump audit 7d\`.`,
  'audit-bad-person': (p) =>
    `"${echo(p.text, 40)}" did not arrive as a mention. Pick the person from Slack's @ suggestions, e.g. \`/jump audit @erin 30d\`.`,
  'audit-bad-arguments': (p) =>
    `Too many words ("${echo(p.text, 40)}"). Use \`/jump audit [host|@person] [since]\`, e.g. \`/jump audit db-prod-1 30d\`.`,
  'unknown-command': (p) =>
    `Unknown command "${echo(p.text, 40)}". Try \`/jump help\`.`,
};

/** The sentence of a domain refusal (policy, permissions, key checks, command parsing), from its code and data. */
export function refusalText(r: RefusalDetail): string {
  return (REFUSAL_TEXT[r.code] as (p: RefusalDetail['params']) => string)(r.params);
}

export const STATE_WORDS: Record<RequestState, string> = {
  pending: 'waiting for approval',
  active: 'active',
  expired: 'expired',
  revoked: 'revoked',
  denied: 'denied',
  cancelled: 'cancelled',
  'timed-out': 'timed out',
  failed: 'failed',
  extended: 'extended',
};

type ReplyOf<K extends Reply['kind']> = Extract<Reply, { kind: K }>;
const words: { [K in Reply['kind']]: (r: ReplyOf<K>) => string } = {
  help: (r) => {
    const help = r.audit ? `${HELP_TEXT}\n${AUDIT_HELP}` : HELP_TEXT;
    return r.hosts === undefined
      ? help
      : `${help}\n${r.hosts.length ? `Hosts you can request: ${r.hosts.map((h) => `\`${h}\``).join(', ')}.` : 'There is no host you can request; ask a host’s owners.'}`;
  },
  refused: (r) => refusalText(r),
  'request-gone': () => 'That request no longer exists.',
  already: (r) => `This request is already ${STATE_WORDS[r.state]}.`,
  'self-approval': () => refusalText({ code: 'self-approval', params: {} }),
  'already-approved': () => 'You already approved this request.',
  'approval-recorded': (r) => `Approval recorded (${r.approvals} of ${r.required}).`,
  // Only when Slack did not open the form (`/jump request` alone): say how to type the request instead.
  'request-form': (r) =>
    r.fallback ? refusalText(r.fallback) : `Slack did not open the request form; nothing was changed. ${refusalText({ code: 'request-needs-host', params: {} })}`,
  'request-sent': (r) =>
    `Request \`${r.id}\` for *${r.host}* for ${formatDuration(r.durationMs)} sent to its owners${r.requiredApprovals > 1 ? ` (${r.requiredApprovals} approvals needed)` : ''}. You will get a DM when it is decided.`,
  'break-glass': (r) =>
    `:rotating_light: Break-glass: access \`${r.id}\` to *${r.host}* for ${formatDuration(r.durationMs)} is active now, without approval; your connect instructions follow by DM. The owners and the audit channel are told, and review it within ${formatDuration(r.reviewWithinMs)}.`,
  acknowledged: (r) => `Break-glass access \`${r.id}\` acknowledged by ${userMention(r.by)}.`,
  'auto-approved': (r) =>
    `Request \`${r.id}\` for *${r.host}* for ${formatDuration(r.durationMs)} auto-approved (rule ${r.rule}): your connect instructions follow by DM.`,
  'too-many-pending': (r) =>
    `You already have ${r.pending} request(s) waiting for approval (at most ${r.max}). Cancel one with \`/jump revoke ${placeholder('id')}\` or wait for a decision.`,
  'rate-limited': (r) =>
    `Too many ${r.what === 'request' ? 'requests' : 'key changes'}: at most ${r.limit} per ${formatDuration(r.windowMs)}. Try again in ${formatDuration(Math.ceil(r.retryAfterMs / 1000) * 1000)}.`,
  key: ({ key }) => `Your registered key: ${key.type} \`${key.fingerprint}\` (added ${when(key.addedAt)}).`,
  'no-key': () => 'You have no key registered. Add one: `/jump key add ssh-ed25519 AAAA… you@laptop`.',
  'key-taken': () => 'That key is already registered to someone else. Each person needs their own key pair.',
  'key-saved': (r) =>
    r.replaced ? `Key replaced: ${r.type} \`${r.fingerprint}\`.${keyChangeEnded(r)}` : `Key registered: ${r.type} \`${r.fingerprint}\`.`,
  'no-key-to-remove': () => 'You have no key registered; nothing to remove.',
  'key-removed': (r) => `Key \`${r.fingerprint}\` removed.${keyChangeEnded(r)}`,
  'not-an-id': (r) => `"${echo(r.text, 30)}" is not a request id. See \`/jump list\`.`,
  'not-yours': (r) => `No request \`${r.id}\` of yours. See \`/jump list\`.`,
  cancelled: (r) => `Request \`${r.id}\` cancelled.`,
  revoked: (r) => `Access \`${r.id}\` to *${r.host}* revoked.`,
  'nothing-to-revoke': (r) => `Request \`${r.id}\` is ${STATE_WORDS[r.state]}; nothing to revoke.`,
  list: (r) => listText(r),
  'audit-summary': (r) => auditSummaryMessage(r).text,
  extended: (r) => `Access \`${r.id}\` to *${r.host}* extended by ${formatDuration(r.durationMs)}: it now ends ${when(r.expiresAt)}.`,
  'extension-sent': (r) =>
    // Past what the person may add on their own (selfExtend): say that limit, so the wait is no surprise.
    `${r.selfExtendMs > 0 ? `Past the ${formatDuration(r.selfExtendMs)} you may extend a grant on ${r.host} by yourself (selfExtend): ` : ''}` +
    `Extension \`${r.id}\` of \`${r.grantId}\` (*${r.host}*, ${formatDuration(r.durationMs)} more) sent to its owners${r.requiredApprovals > 1 ? ` (${r.requiredApprovals} approvals needed)` : ''}. Your access runs on meanwhile; you will get a DM when it is decided.`,
};

/** What a key change ended, if anything: a grant is bound to the key that was approved. */
function keyChangeEnded(r: { endedGrants: number; cancelledRequests: number }): string {
  const parts = [
    ...(r.endedGrants > 0 ? [`${r.endedGrants} active grant(s) ended`] : []),
    ...(r.cancelledRequests > 0 ? [`${r.endedGrants > 0 ? 'your ' : ''}${r.cancelledRequests} pending request(s) were cancelled`] : []),
  ];
  return parts.length ? ` Your ${parts.join(' and ')}: access is granted for the key that was approved only. Request again with the new key.` : '';
}

/** `/jump list`: the person's own, then (owners) what awaits their decision, then (list all) their hosts' all. */
function listText(r: Extract<Reply, { kind: 'list' }>): string {
  const own = r.open.length === 0 ? 'You have no pending requests or active grants.' : r.open.map(listLine).join('\n');
  const parts = [own];
  if (r.awaiting?.length) parts.push(`*Waiting for your decision:*\n${r.awaiting.map(ownerLine).join('\n')}`);
  if (r.onTheirHosts !== undefined)
    parts.push(r.onTheirHosts.length ? `*Pending and active on your hosts:*\n${r.onTheirHosts.map(ownerLine).join('\n')}` : 'Nothing is pending or active on your hosts.');
  else if (r.ownsHosts === false && r.awaiting === undefined) parts.push('`/jump list all` shows the owners of a host everything pending and active on it.');
  return parts.join('\n\n');
}

/** A request or grant on an owner's host: whose, how long, its state, and why (user text, escaped). */
function ownerLine(r: AccessRequest): string {
  const state =
    r.state === 'active'
      ? `active until ${when(r.expiresAt!)}`
      : `${formatDuration(r.durationMs)}, waiting for approval (${r.approvers.length} of ${r.requiredApprovals}) since ${when(r.createdAt)}`;
  return `• \`${r.id}\` *${escapeMrkdwn(r.host)}* for ${userMention(r.requester)}, ${state}${r.reason ? `: “${userTextForOthers(r.reason, 80)}”` : ''}`;
}

function listLine(r: AccessRequest): string {
  return r.state === 'active'
    ? `• \`${r.id}\` *${r.host}* active until ${when(r.expiresAt!)}${r.usage ? `, ${escapeMrkdwn(r.usage)} so far` : ''}`
    : `• \`${r.id}\` *${r.host}* ${formatDuration(r.durationMs)} waiting for approval (${r.approvers.length} of ${r.requiredApprovals})`;
}

/** The words of a use case's reply (shown ephemerally, or as the modal's error). */
export function replyText(reply: Reply): string {
  return (words[reply.kind] as (r: Reply) => string)(reply);
}

/** A reply as an ephemeral message: its words, and for the audit summary its blocks and metadata. */
export function replyMessage(reply: Reply): { text: string; blocks?: Block[]; metadata?: MessageMetadata } {
  return reply.kind === 'audit-summary' ? auditSummaryMessage(reply) : { text: replyText(reply) };
}

/** A reminder to an owner (or, escalated, to escalateTo) of a request still waiting: how long, what, where to decide. */
export function reminderText(r: AccessRequest, waitedMs: number, escalated: boolean): string {
  const what = r.extends
    ? `${userMention(r.requester)}'s request \`${r.id}\` to extend \`${r.extends}\` on *${escapeMrkdwn(r.host)}* by ${formatDuration(r.durationMs)}`
    : `${userMention(r.requester)}'s request \`${r.id}\` for *${escapeMrkdwn(r.host)}* (${formatDuration(r.durationMs)})`;
  return `${escalated ? ':rotating_light: Escalated: ' : ':bell: Reminder: '}${what} has waited ${formatDuration(waitedMs)} for a decision. Approve or deny it on the approval message.`;
}

/** DMs to the requester, one per domain event. */
export const requesterTexts = {
  grantNotActivated: (r: AccessRequest) =>
    r.state === 'failed' && r.endReason === 'key-changed'
      ? `Access to *${r.host}* (\`${r.id}\`) was approved, but your key changed after the request: it was not installed. Request again with \`/jump request ${r.host}\`.`
      : r.state === 'failed'
      ? `Access to *${r.host}* (\`${r.id}\`) was approved, but installing your key on the jump server failed. Please try again later.`
      : `Access to *${r.host}* (\`${r.id}\`) was approved, but it is already ${STATE_WORDS[r.state]}: no connect instructions.`,
  requestDenied: (r: AccessRequest) =>
    r.extends
      ? `Your extension \`${r.id}\` of \`${r.extends}\` (*${r.host}*) was denied by ${userMention(r.decidedBy ?? '')}${r.denyReason ? `: ${userTextForOthers(r.denyReason, DENY_REASON_SHOWN)}` : '.'} Your access ends as planned.`
      : r.policyMaxMs !== undefined
      ? `Your request \`${r.id}\` for *${escapeMrkdwn(r.host)}* could not be approved: ${overMaxDuration(r, r.policyMaxMs)} Request again: \`/jump request ${r.host} ${formatDuration(r.policyMaxMs)} …\``
      : `Your request \`${r.id}\` for *${r.host}* was denied by ${userMention(r.decidedBy ?? '')}${r.denyReason ? `: ${userTextForOthers(r.denyReason, DENY_REASON_SHOWN)}` : '.'}`,
  requestTimedOut: (r: AccessRequest) =>
    r.extends
      ? `Your extension \`${r.id}\` of \`${r.extends}\` (*${r.host}*) timed out without a decision. Your access ends as planned.`
      : `Your request \`${r.id}\` for *${r.host}* timed out without a decision.`,
  requestCancelled: (r: AccessRequest) =>
    r.endReason === 'grant-ended'
      ? `Your extension \`${r.id}\` of \`${r.extends ?? ''}\` (*${r.host}*) was approved only after your access had ended: nothing was extended. Request access again if you still need it.`
      : `Your request \`${r.id}\` for *${r.host}* was cancelled by ${userMention(r.decidedBy ?? '')}, an owner of the host.`,
  grantExtended: (grant: AccessRequest, extension: AccessRequest) =>
    `:hourglass_flowing_sand: Your access to *${escapeMrkdwn(grant.host)}* (\`${grant.id}\`) is extended by ${formatDuration(extension.durationMs)}${approvedBy(extension)}: it now ends ${when(grant.expiresAt ?? 0)}.`,
  grantEnded: (r: AccessRequest) => grantEndedText(r) + usageSentence(r),
  expiryWarning: (r: AccessRequest, leftMs: number) => `Your access to *${r.host}* (\`${r.id}\`) ends in ${formatDuration(leftMs)}.`,
};

function grantEndedText(r: AccessRequest): string {
  return r.state === 'revoked' && r.endReason === 'key-changed'
      ? `Your access to *${r.host}* (\`${r.id}\`) ended because your key changed: a grant is for the key that was approved only. Request again with \`/jump request ${r.host}\`.`
      : r.state === 'revoked' && r.endReason === 'jump-host-retired'
      ? `Your access to *${r.host}* (\`${r.id}\`) has ended: jump server retired (${escapeMrkdwn(r.jumpHost)}). Ask the owners of ${r.host} how it is reached now.`
      : r.state === 'revoked'
      ? `Your access to *${r.host}* (\`${r.id}\`) was revoked by ${userMention(r.decidedBy ?? '')}.`
      : `Your access to *${r.host}* (\`${r.id}\`) has expired. Request again with \`/jump request ${r.host}\`.`;
}

// ---- the audit channel: one line per audit event ----

const VERB: Record<AuditEvent['type'], string> = {
  requested: 'requested access',
  'approval-recorded': 'recorded an approval',
  approved: 'approved',
  'auto-approved': 'auto-approved',
  activated: 'access activated',
  extended: 'extended access',
  denied: 'denied',
  expired: 'access expired',
  revoked: 'revoked access',
  cancelled: 'cancelled',
  'timed-out': 'request timed out',
  failed: 'activation failed',
  'key-added': 'added a key',
  'key-replaced': 'replaced their key',
  'key-removed': 'removed their key',
  refused: 'was refused',
  'jump-host-alert': 'jump host alert',
  connection: 'connected',
  'session-ended': 'live session ended',
  'policy-reloaded': 'policy reloaded',
  'drift-repaired': 'jump server drift repaired',
  'break-glass': ':rotating_light: BROKE THE GLASS: took access without approval',
  'break-glass-acknowledged': 'acknowledged the break-glass access',
  'break-glass-review-overdue': ':rotating_light: break-glass access not reviewed in time',
};

/** User text on one line: a reason with line breaks must not be able to imitate further audit lines. */
function auditText(t: string): string {
  return escapeMrkdwn(oneLine(t));
}

export function auditLine(e: AuditEvent): string {
  const parts = [when(e.at), `*${e.type}*`];
  if (e.actor) parts.push(userMention(e.actor));
  parts.push(VERB[e.type]);
  if (e.requestId) parts.push(`\`${e.requestId}\``);
  if (e.requester && e.requester !== e.actor) parts.push(`for ${userMention(e.requester)}`);
  if (e.host) parts.push(`on \`${auditText(e.host)}\``);
  if (e.durationMs) parts.push(`for ${formatDuration(e.durationMs)}`);
  if (e.expiresAt) parts.push(`until ${when(e.expiresAt)}`);
  if (e.reason) parts.push(`reason: “${auditText(e.reason)}”`);
  if (e.detail) parts.push(`(${auditText(e.detail)})`);
  return parts.join(' ');
}

// Every Block Kit message and Slack text the broker sends, built from domain values. No I/O.
import type { ConnectInstructions } from '../domain/connect-instructions.ts';
import { formatDuration } from '../domain/duration.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { escapeMrkdwn, userMention } from './mrkdwn.ts';

export const ACTION_APPROVE = 'jit_approve';
export const ACTION_DENY = 'jit_deny';
export const VIEW_DENY_REASON = 'jit_deny_reason';
export const DENY_REASON_BLOCK = 'reason';
export const DENY_REASON_INPUT = 'reason_input';

/** Slack's limits for section text (3000) and field text (2000). */
const SECTION_LIMIT = 3000;
const FIELD_LIMIT = 2000;

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

type Block = { type: string; [key: string]: unknown };

function when(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time_secs}|${new Date(ms).toISOString()}>`;
}

export function outcomeText(r: AccessRequest): string {
  switch (r.state) {
    case 'pending':
      return r.approvers.length > 0
        ? `:hourglass: Approved by ${r.approvers.map(userMention).join(', ')}; ${r.requiredApprovals - r.approvers.length} more approval(s) needed.`
        : ':hourglass: Waiting for approval.';
    case 'active':
      // A grant read back without its expiry (never stored so) must not show a 1970 date.
      if (r.expiresAt === undefined) return `:white_check_mark: Approved by ${r.approvers.map(userMention).join(', ')}. Installing the key…`;
      return `:white_check_mark: Approved by ${r.approvers.map(userMention).join(', ')}. Active until ${when(r.expiresAt ?? 0)}.`;
    case 'expired':
      return `:white_check_mark: Approved by ${r.approvers.map(userMention).join(', ')}. :lock: Expired at ${when(r.expiresAt ?? r.endedAt ?? 0)}.`;
    case 'revoked':
      return `:lock: Revoked by ${userMention(r.decidedBy ?? '')} at ${when(r.endedAt ?? 0)}.`;
    case 'denied':
      return `:x: Denied by ${userMention(r.decidedBy ?? '')}${r.denyReason ? `: ${escapeMrkdwn(r.denyReason)}` : '.'}`;
    case 'cancelled':
      return ':heavy_minus_sign: Cancelled by the requester.';
    case 'timed-out':
      return ':heavy_minus_sign: Timed out without a decision.';
    case 'failed':
      return ':warning: Approved, but installing the key on the jump server failed.';
  }
}

/** The approval request; while pending it carries the buttons, afterwards the outcome replaces them. */
export function approvalMessage(r: AccessRequest): { text: string; blocks: Block[] } {
  const text = `${userMention(r.requester)} requests access to ${r.host} for ${formatDuration(r.durationMs)}`;
  const blocks: Block[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`${userMention(r.requester)} requests SSH access to *${escapeMrkdwn(r.host)}*`, SECTION_LIMIT) },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Host*\n${escapeMrkdwn(r.host)}` },
        { type: 'mrkdwn', text: `*Duration*\n${formatDuration(r.durationMs)}` },
        { type: 'mrkdwn', text: clip(`*Reason*\n${r.reason ? escapeMrkdwn(r.reason) : '_none given_'}`, FIELD_LIMIT) },
        { type: 'mrkdwn', text: `*Approvals*\n${r.approvers.length} of ${r.requiredApprovals}` },
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
        { type: 'button', action_id: ACTION_DENY, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: r.id },
      ],
    });
    if (r.approvers.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: outcomeText(r) }] });
  } else {
    blocks.push({ type: 'section', block_id: 'outcome', text: { type: 'mrkdwn', text: outcomeText(r) } });
  }
  return { text: `${text}: ${outcomeText(r).replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1')}`, blocks };
}

export function connectMessage(r: AccessRequest, c: ConnectInstructions): { text: string; blocks: Block[] } {
  const until = new Date(r.expiresAt ?? 0).toISOString();
  return {
    text: `Access to ${r.host} is active until ${until}. Connect with: ${c.command}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `:key: Access to *${escapeMrkdwn(r.host)}* is active until ${when(r.expiresAt ?? 0)} (request \`${r.id}\`).` } },
      { type: 'section', text: { type: 'mrkdwn', text: `Connect with:\n\`\`\`${c.command}\`\`\`` } },
      { type: 'section', text: { type: 'mrkdwn', text: `Or add this to \`~/.ssh/config\` and run \`ssh ${escapeMrkdwn(r.host)}\`:\n\`\`\`${c.sshConfig}\`\`\`` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'Type the host address exactly as shown: the jump server allows only that address and port. Your key stops working at the time above.' }],
      },
    ],
  };
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

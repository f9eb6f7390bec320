// The Home tab of the jit-jump app, built from what the service reads for one person (HomeContents): for owners
// what awaits their decision (Approve / Deny, the approval message's own buttons), the person's active grants
// (I'm done / Extend), pending requests and last ended ones, and a button that opens the request form. No I/O.
import { formatDuration } from '../domain/duration.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import type { HomeContents } from '../service/home.ts';
import { ACTION_APPROVE, ACTION_DENY, ACTION_EXTEND, ACTION_IM_DONE, STATE_WORDS } from './messages.ts';
import { slackDate as when } from './slack-date.ts';
import { escapeMrkdwn, userMention, userTextForOthers } from './mrkdwn.ts';
import { ACTION_OPEN_REQUEST_FORM } from './request-form.ts';

/** At most this many items per list (Slack: 100 blocks per Home view; each item takes one or two). */
export const HOME_ITEMS_SHOWN = 15;

type Block = { type: string; [key: string]: unknown };

const header = (text: string): Block => ({ type: 'header', text: { type: 'plain_text', text } });
const note = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const section = (text: string, verbatim = false): Block => ({ type: 'section', text: { type: 'mrkdwn', text, ...(verbatim ? { verbatim: true } : {}) } });
const button = (text: string, actionId: string, value: string, style?: 'primary' | 'danger') => ({
  type: 'button',
  action_id: actionId,
  text: { type: 'plain_text', text },
  value,
  ...(style ? { style } : {}),
});

/** The items of one list, each as its blocks, at most HOME_ITEMS_SHOWN; an empty list says so. */
function list(title: string, items: readonly AccessRequest[], empty: string, blocksOf: (r: AccessRequest) => Block[]): Block[] {
  const shown = items.slice(0, HOME_ITEMS_SHOWN);
  const more = items.length - shown.length;
  return [
    header(title),
    ...(shown.length ? shown.flatMap(blocksOf) : [note(empty)]),
    ...(more > 0 ? [note(`…and ${more} more: see \`/jump list\`.`)] : []),
  ];
}

/** A request awaiting the owner's decision, with the approval message's own Approve / Deny. */
function awaitingItem(r: AccessRequest): Block[] {
  const reason = r.reason ? `\n“${userTextForOthers(r.reason, 500)}”` : '';
  const asks = r.extends
    ? `asks to extend *${escapeMrkdwn(r.host)}* (grant \`${r.extends}\`) by ${formatDuration(r.durationMs)}`
    : `asks for *${escapeMrkdwn(r.host)}* for ${formatDuration(r.durationMs)}`;
  return [
    section(
      `${userMention(r.requester)} ${asks} · approvals ${r.approvers.length} of ${r.requiredApprovals} · \`${r.id}\`, asked ${when(r.createdAt)}${reason}`,
      true,
    ),
    { type: 'actions', block_id: `decision:${r.id}`, elements: [button('Approve', ACTION_APPROVE, r.id, 'primary'), button('Deny', ACTION_DENY, r.id, 'danger')] },
  ];
}

function activeItem(r: AccessRequest): Block[] {
  const until = r.expiresAt === undefined ? 'installing the key…' : `until ${when(r.expiresAt)}`;
  return [
    section(`:key: *${escapeMrkdwn(r.host)}* · \`${r.id}\` · active ${until}`),
    { type: 'actions', block_id: `grant:${r.id}`, elements: [button("I'm done", ACTION_IM_DONE, r.id), button('Extend', ACTION_EXTEND, r.id)] },
  ];
}

function pendingItem(r: AccessRequest): Block[] {
  const what = r.extends ? `${formatDuration(r.durationMs)} more on grant \`${r.extends}\`` : `for ${formatDuration(r.durationMs)}`;
  return [section(`:hourglass: *${escapeMrkdwn(r.host)}* ${what} · \`${r.id}\` · approvals ${r.approvers.length} of ${r.requiredApprovals}, asked ${when(r.createdAt)}`)];
}

function endedLine(r: AccessRequest): string {
  const at = r.endedAt ?? r.expiresAt;
  return `• *${escapeMrkdwn(r.host)}* · \`${r.id}\` · ${STATE_WORDS[r.state]}${at === undefined ? '' : ` ${when(at)}`}`;
}

/** The Home view; `notice`: the answer to the person's last click there (a refusal, or what it did). */
export function homeView(h: HomeContents, notice?: string): Block {
  const blocks: Block[] = [
    section(':closed_lock_with_key: *jit-jump*: just-in-time SSH access. Your requests and grants, and what waits for you.'),
    { type: 'actions', block_id: 'home:request', elements: [button('Request access', ACTION_OPEN_REQUEST_FORM, 'form', 'primary')] },
    ...(notice ? [note(notice.length > 2900 ? `${notice.slice(0, 2899)}…` : notice)] : []),
  ];
  if (h.awaiting) blocks.push(...list('Waiting for your decision', h.awaiting, 'Nothing waits for your decision.', awaitingItem));
  blocks.push(...list('Your active grants', h.active, 'No active grants.', activeItem));
  blocks.push(...list('Your pending requests', h.pending, 'No pending requests.', pendingItem));
  blocks.push(header('Recently ended'));
  blocks.push(h.ended.length ? section(h.ended.map(endedLine).join('\n')) : note('Nothing yet.'));
  return { type: 'home', blocks };
}

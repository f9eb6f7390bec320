// Shorter approvals on Slack: the choice next to Approve (a static_select in the decision block), read from the
// block_actions payload's `state.values` when Approve is clicked (Slack sends the message's select states with
// a button click; choosing in the menu itself decides nothing), and the words that say a grant was shortened.
import type { SlackListeners } from './slack-listeners.ts';
import { formatDuration } from '../domain/duration.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { approvalChoices, grantDurationMs } from '../domain/shorter-approval.ts';
import { userMention } from './mrkdwn.ts';

/** The "for how long" menu next to Approve: acked and otherwise ignored; its choice is read at the Approve click. */
export const ACTION_APPROVE_FOR = 'jit_approve_for';

type Block = { type: string; [key: string]: unknown };

const option = (ms: number, askedMs: number) => ({
  text: { type: 'plain_text', text: ms === askedMs ? `for ${formatDuration(ms)} (as asked)` : `for ${formatDuration(ms)}` },
  value: formatDuration(ms),
});

/** The menu for a pending request (not an extension): the asked duration (selected) and the shorter standard ones ≥ `minMs`. */
export function approveForSelect(r: Pick<AccessRequest, 'durationMs' | 'extends'>, minMs: number): Block | undefined {
  if (r.extends !== undefined) return undefined;
  const choices = approvalChoices(r.durationMs, minMs);
  if (choices.length < 2) return undefined;
  const options = choices.map((ms) => option(ms, r.durationMs));
  return { type: 'static_select', action_id: ACTION_APPROVE_FOR, initial_option: options[0], options };
}

/** Choosing in the menu decides nothing (acked, nothing remembered): the choice is read when Approve is clicked. */
export function registerApproveForMenu(app: SlackListeners): void {
  app.action(ACTION_APPROVE_FOR, async ({ ack }) => {
    await ack();
  });
}

/** The state Slack sends with a block_actions click: block id → action id → the element's state. */
export interface ActionsState {
  values?: Record<string, Record<string, unknown>>;
}

/**
 * The duration chosen next to Approve ("30m"), if any: the menu's `selected_option` in the clicked button's
 * block (null when deselected: as asked). Anything else in the payload's shape reads as no choice.
 */
export function chosenApproveFor(state: ActionsState | undefined, blockId: string): string | undefined {
  const menu = state?.values?.[blockId]?.[ACTION_APPROVE_FOR] as { selected_option?: { value?: unknown } | null } | undefined;
  const value = menu?.selected_option?.value;
  return typeof value === 'string' ? value : undefined;
}

/** " for 30m of the 2h asked (shortened by <@U1>)", or "" for a grant approved as asked. */
export function shortenedSentence(r: Pick<AccessRequest, 'durationMs' | 'approvedMs' | 'shortenedBy'>): string {
  const ms = grantDurationMs(r);
  if (ms >= r.durationMs) return '';
  const by = r.shortenedBy !== undefined ? ` (shortened by ${userMention(r.shortenedBy)})` : '';
  return ` for ${formatDuration(ms)} of the ${formatDuration(r.durationMs)} asked${by}`;
}

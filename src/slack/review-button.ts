// The Acknowledge button on a break-glass alert (owners' DMs, the approval channel): an owner's post-hoc review.
// The service checks who may (an owner, never the person who broke the glass) and updates every copy.
import type { ButtonDeps } from './grant-buttons.ts';
import { ACTION_ACKNOWLEDGE } from './messages.ts';
import type { SlackListeners } from './slack-listeners.ts';

type ButtonAction = import('@slack/bolt').BlockAction<import('@slack/bolt').ButtonAction>;

export function registerReviewButton(app: SlackListeners, d: ButtonDeps): void {
  app.action<ButtonAction>(ACTION_ACKNOWLEDGE, async ({ ack, body, action, client }) => {
    await ack();
    const outcome = await d.attempt('acknowledge', () => d.service.acknowledge(action.value ?? '', body.user.id));
    await d.ephemeral(body, client, outcome.text);
    d.runAfter(outcome, 'acknowledge');
  });
}

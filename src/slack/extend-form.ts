// The Extend button (expiry warning, App Home) and its form: how much longer and why. Submitting it is
// `/jump extend <id>` (same checks and words); a refusal stands under the field it is about.
import type { Reply } from '../service/access-service.ts';
import type { ButtonDeps } from './grant-buttons.ts';
import { ACTION_EXTEND, EXTEND_FIELDS, extendFieldOfReply, extendModal, requestSentView, SLACK_REPLIES, VIEW_EXTEND } from './messages.ts';
import { openForm } from './web-client.ts';
import type { SlackListeners } from './slack-listeners.ts';

type ButtonAction = import('@slack/bolt').BlockAction<import('@slack/bolt').ButtonAction>;

export function registerExtendForm(app: SlackListeners, d: ButtonDeps): void {
  app.action<ButtonAction>(ACTION_EXTEND, async ({ ack, body, action, client }) => {
    await ack();
    let notOpened = false;
    const outcome = await d.attempt('extend', async () => {
      const loaded = await d.service.grantToExtend(action.value ?? '', body.user.id);
      if (!loaded.ok) return { reply: loaded.reply };
      notOpened = !(await openForm(client, body.trigger_id, extendModal(loaded.grant, loaded.suggestedMs), d.log, 'extend form', { requestId: loaded.grant.id }));
      return {};
    });
    await d.ephemeral(body, client, notOpened ? SLACK_REPLIES.extendFormNotOpened : outcome.text);
  });

  app.view(VIEW_EXTEND, async ({ ack, body, view }) => {
    const value = (f: keyof typeof EXTEND_FIELDS) => view.state.values[EXTEND_FIELDS[f]]?.[EXTEND_FIELDS[f]]?.value ?? '';
    let reply: Reply | undefined;
    const outcome = await d.attempt('extend', async () => {
      const asked = await d.service.extend(view.private_metadata, body.user.id, { duration: value('duration').trim(), reason: value('reason').trim() });
      reply = asked.reply;
      return asked;
    });
    // Granted or sent to the owners: the form says so; a refusal stands under its field, in `/jump extend`'s words.
    if (reply?.kind === 'extended' || reply?.kind === 'extension-sent') await ack({ response_action: 'update', view: requestSentView(outcome.text ?? '', 'Extend access') as never });
    else if (outcome.text) await ack({ response_action: 'errors', errors: { [EXTEND_FIELDS[reply ? extendFieldOfReply(reply) : 'duration']]: outcome.text } });
    else await ack();
    d.runAfter(outcome, 'extend');
  });

}

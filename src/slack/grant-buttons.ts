// The buttons on the requester's DMs: I'm done (ends the grant, then the clicked DM says so in place) and
// Request again (a form prefilled from the earlier request; submitting it is `/jump request`).
import type { App } from '@slack/bolt';
import type { Logger } from 'pino';
import type { AccessRequest } from '../domain/request-state.ts';
import type { AccessService, Outcome, Reply } from '../service/access-service.ts';
import { EVENT_TYPES, requestMetadata } from './message-metadata.ts';
import { ACTION_IM_DONE, ACTION_REQUEST_AGAIN, fieldOfReply, REQUEST_FIELDS, requesterMessages, requestSentView, SLACK_REPLIES } from './messages.ts';
import { openRequestForm } from './home-tab.ts';
import { askedInForm, blockIdIn, REQUEST_FORM_VIEWS, requestFormModal } from './request-form.ts';
import { parseDuration } from '../domain/duration.ts';
import type { SlackListeners } from './slack-listeners.ts';

type ButtonAction = import('@slack/bolt').BlockAction<import('@slack/bolt').ButtonAction>;
type SelectAction = import('@slack/bolt').BlockAction<import('@slack/bolt').StaticSelectAction>;

export interface ButtonDeps {
  service: AccessService;
  log: Logger;
  /** runs a use case; a throw is answered "try again" */
  attempt: (what: string, run: () => Promise<Outcome>) => Promise<Outcome & { text?: string }>;
  runAfter: (outcome: Outcome, what: string) => void;
  ephemeral: (body: ButtonAction, client: App['client'], text: string | undefined) => Promise<unknown> | undefined;
}

export function registerGrantButtons(app: SlackListeners, d: ButtonDeps): void {
  app.action<ButtonAction>(ACTION_IM_DONE, async ({ ack, body, action, client }) => {
    await ack();
    let ended: AccessRequest | undefined;
    const outcome = await d.attempt("I'm done", async () => {
      const done = await d.service.imDone(action.value ?? '', body.user.id);
      ended = done.ended;
      return done;
    });
    await d.ephemeral(body, client, outcome.text);
    // The clicked DM loses its button and says the grant ended (only for someone who may end it).
    if (ended && body.channel?.id && body.message?.ts) {
      const m = requesterMessages.endedInPlace(ended);
      await client.chat
        .update({ channel: body.channel.id, ts: body.message.ts, ...m, blocks: m.blocks as never, metadata: requestMetadata(EVENT_TYPES.grantEnded, ended) as never })
        .catch((err: unknown) => d.log.warn({ err, requestId: ended?.id }, "could not update the clicked I'm done message"));
    }
    d.runAfter(outcome, "I'm done");
  });
  registerRequestForm(app, d);
}

/** Request again opens the request form prefilled; the form (however opened) submitted is `/jump request`. */
function registerRequestForm(app: SlackListeners, d: ButtonDeps): void {
  app.action<ButtonAction>(ACTION_REQUEST_AGAIN, async ({ ack, body, action, client }) => {
    await ack();
    let notOpened = false;
    const outcome = await d.attempt('request again', async () => {
      const earlier = await d.service.earlierRequest(action.value ?? '', body.user.id);
      if (!earlier.ok) return { reply: earlier.reply };
      notOpened = !(await openRequestForm(client, body.trigger_id, await d.service.requestForm(body.user.id, earlier.request), d.log));
      return {};
    });
    await d.ephemeral(body, client, notOpened ? SLACK_REPLIES.requestFormNotOpened : outcome.text);
  });

  // The request form (`/jump request` alone, Home's Request access, Request again): submitting it is `/jump request`.
  app.view(REQUEST_FORM_VIEWS, async ({ ack, body, view }) => {
    const asked = askedInForm(view.state.values as never);
    let reply: Reply | undefined;
    const outcome = await d.attempt('request form', async () => {
      const made = await d.service.submitRequestForm(view.private_metadata || undefined, body.user.id, asked);
      reply = made.reply;
      return made;
    });
    // A refusal is shown under the field it is about, in `/jump request`'s words; the form stays open.
    if (reply?.kind === 'request-sent' || reply?.kind === 'auto-approved') await ack({ response_action: 'update', view: requestSentView(outcome.text ?? '') as never });
    else if (outcome.text) await ack({ response_action: 'errors', errors: { [blockIdIn(view.state.values, reply ? fieldOfReply(reply) : 'host')]: outcome.text } });
    else await ack();
    d.runAfter(outcome, 'request form');
  });

  // A host picked in the form: the form is redrawn with the durations that host allows (what was typed stays).
  app.action<SelectAction>({ block_id: REQUEST_FIELDS.host, action_id: REQUEST_FIELDS.host }, async ({ ack, body, action, client }) => {
    await ack();
    const view = body.view;
    const host = action.selected_option?.value;
    if (!view || !host || !(REQUEST_FORM_VIEWS as readonly string[]).includes(view.callback_id)) return;
    const asked = askedInForm(view.state.values as never);
    const form = await d.service.requestForm(body.user.id, undefined, { host, durationMs: asked.duration === undefined ? undefined : parseDuration(asked.duration) });
    const redrawn = { ...requestFormModal(form, host), private_metadata: view.private_metadata };
    await client.views
      .update({ view_id: view.id, hash: view.hash, view: redrawn as never })
      .catch((err: unknown) => d.log.warn({ err }, 'could not redraw the request form for the host picked'));
  });
}

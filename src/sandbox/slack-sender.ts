// Sends requests to the broker exactly as Slack does: form-encoded, signed with the signing secret, with trigger
// ids the local Slack API issued (so views.open works only with the trigger of the interaction it answers).
import { createHmac, randomBytes } from 'node:crypto';
import type { LocalSlackApi } from './local-slack-api.ts';
import type { Problem } from './slack-checks.ts';

export interface SlackResponse {
  status: number;
  body: string;
  json?: any;
  /** a slash command's answer that Slack would refuse (the local Slack API's checks), also recorded there */
  problem?: Problem;
}

export function signSlackRequest(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function findButton(blocks: any[] | undefined, actionId: string): { actionId: string; value: string; blockId: string } {
  for (const block of blocks ?? []) {
    if (block.type !== 'actions') continue;
    for (const el of block.elements ?? []) if (el.action_id === actionId) return { actionId, value: el.value, blockId: block.block_id };
  }
  throw new Error(`no button ${actionId} in the message`);
}

const user = (id: string, teamId: string) => ({ id, username: id.toLowerCase(), name: id.toLowerCase(), team_id: teamId });

/** The fields of a /jump slash command, as Slack sends them (form fields over HTTP, the payload in Socket Mode). */
export function slashCommandFields(fake: LocalSlackApi, teamId: string, userId: string, text: string): Record<string, string> {
  return {
    token: 'legacy-verification-token',
    team_id: teamId,
    team_domain: 'test',
    channel_id: 'C0GENERAL',
    channel_name: 'general',
    user_id: userId,
    user_name: userId.toLowerCase(),
    command: '/jump',
    text,
    api_app_id: 'A0JITJUMP',
    is_enterprise_install: 'false',
    response_url: fake.responseUrl(),
    trigger_id: fake.issueTriggerId(userId),
  };
}

export interface ButtonClick {
  actionId: string;
  value: string;
  blockId: string;
  message: { channel: string; ts: string; blocks?: any[] };
  /** a trigger id the caller got from the fake's issueTriggerId (to find the modal opened in answer); default: a new one */
  triggerId?: string;
  /** the message's element states sent with the click, as Slack does: block id → action id → state
   *  (a static_select: `{ type: 'static_select', selected_option: { text, value } }`) */
  state?: { values: Record<string, Record<string, unknown>> };
}

/** The state of a static_select menu with `value` chosen, for a click's `state` (ButtonClick.state). */
export function selectState(blockId: string, actionId: string, value: string): NonNullable<ButtonClick['state']> {
  return { values: { [blockId]: { [actionId]: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: value }, value } } } } };
}

/** A block_actions payload for one button click. */
export function blockActionPayload(fake: LocalSlackApi, teamId: string, userId: string, a: ButtonClick): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: user(userId, teamId),
    api_app_id: 'A0JITJUMP',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: a.message.ts, channel_id: a.message.channel, is_ephemeral: false },
    trigger_id: a.triggerId ?? fake.issueTriggerId(userId),
    team: { id: teamId, domain: 'test' },
    channel: { id: a.message.channel, name: 'directmessage' },
    message: { type: 'message', ts: a.message.ts, text: '', blocks: a.message.blocks ?? [] },
    response_url: fake.responseUrl(),
    actions: [{ type: 'button', action_id: a.actionId, block_id: a.blockId, value: a.value, action_ts: String(Date.now() / 1000) }],
    ...(a.state ? { state: a.state } : {}),
  };
}

/** A block_actions payload for one button click on the user's Home tab: no channel, no message, the view instead. */
export function homeActionPayload(fake: LocalSlackApi, teamId: string, userId: string, a: Omit<ButtonClick, 'message'>): Record<string, unknown> {
  const view = fake.home(userId)?.view ?? { type: 'home', blocks: [] };
  return {
    type: 'block_actions',
    user: user(userId, teamId),
    api_app_id: 'A0JITJUMP',
    token: 'legacy-verification-token',
    container: { type: 'view', view_id: `VHOME${userId}` },
    trigger_id: a.triggerId ?? fake.issueTriggerId(userId),
    team: { id: teamId, domain: 'test' },
    view: { ...view, id: `VHOME${userId}`, team_id: teamId, state: { values: {} }, hash: 'h' },
    actions: [{ type: 'button', action_id: a.actionId, block_id: a.blockId, value: a.value, action_ts: String(Date.now() / 1000) }],
  };
}

/** A choice in a select menu of an open modal (an input block with dispatch_action), with the modal's state. */
export interface ModalSelect {
  viewId: string;
  blockId: string;
  actionId: string;
  value: string;
  /** the modal's state.values as Slack would send them (what is chosen and typed so far) */
  values?: Record<string, Record<string, any>>;
}

export function modalSelectPayload(fake: LocalSlackApi, teamId: string, userId: string, a: ModalSelect): Record<string, unknown> {
  const open = fake.views().find((v) => v.id === a.viewId);
  if (!open) throw new Error(`no open modal ${a.viewId}`);
  const selected = { text: { type: 'plain_text', text: a.value }, value: a.value };
  return {
    type: 'block_actions',
    user: user(userId, teamId),
    api_app_id: 'A0JITJUMP',
    token: 'legacy-verification-token',
    container: { type: 'view', view_id: open.id },
    trigger_id: fake.issueTriggerId(userId),
    team: { id: teamId, domain: 'test' },
    view: { ...open.view, id: open.id, hash: open.hash, team_id: teamId, state: { values: a.values ?? {} } },
    actions: [{ type: 'static_select', action_id: a.actionId, block_id: a.blockId, selected_option: selected, action_ts: String(Date.now() / 1000) }],
  };
}

/** An Events API delivery (event_callback) of one event, as Slack posts it: JSON, signed like the rest. */
export function eventCallbackBody(teamId: string, event: Record<string, unknown>): string {
  return JSON.stringify({
    token: 'legacy-verification-token',
    team_id: teamId,
    api_app_id: 'A0JITJUMP',
    event: { event_ts: String(Date.now() / 1000), ...event },
    type: 'event_callback',
    event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
  });
}

export function createSlackSender(o: { url: string; signingSecret: string; teamId?: string; fake: LocalSlackApi }) {
  const teamId = o.teamId ?? 'T0TEST';

  async function raw(body: string, opts: { timestamp?: number; signature?: string; contentType?: string } = {}): Promise<SlackResponse> {
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const res = await fetch(o.url, {
      method: 'POST',
      headers: {
        // Exactly this: Bolt's parser rejects a charset suffix.
        'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': opts.signature ?? signSlackRequest(o.signingSecret, timestamp, body),
      },
      body,
      // Slack gives up on an app after 3 s; a request unanswered for two minutes is a hang to report, not wait out.
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, body: text, json };
  }

  const payload = (p: object) => `payload=${encodeURIComponent(JSON.stringify(p))}`;

  return {
    raw,
    async command(userId: string, text: string, extra: Record<string, string> = {}): Promise<SlackResponse> {
      const res = await raw(new URLSearchParams({ ...slashCommandFields(o.fake, teamId, userId, text), ...extra }).toString());
      // The answer is a message Slack shows the user: checked as Slack checks it (an empty answer shows nothing).
      const problem = res.status === 200 && res.json && typeof res.json === 'object' ? o.fake.answered('command_response', res.json) : undefined;
      return problem ? { ...res, problem } : res;
    },
    blockAction(userId: string, a: ButtonClick): Promise<SlackResponse> {
      return raw(payload(blockActionPayload(o.fake, teamId, userId, a)));
    },
    /** A click on a button of the Home tab last published for the user. */
    homeAction(userId: string, a: Omit<ButtonClick, 'message'>): Promise<SlackResponse> {
      return raw(payload(homeActionPayload(o.fake, teamId, userId, a)));
    },
    /** A choice in a select menu of an open modal that dispatches its actions (the request form's host). */
    modalSelect(userId: string, a: ModalSelect): Promise<SlackResponse> {
      return raw(payload(modalSelectPayload(o.fake, teamId, userId, a)));
    },
    /** The user opened the app's Home tab (`tab` 'home'), or its Messages tab. */
    appHomeOpened(userId: string, tab: 'home' | 'messages' = 'home'): Promise<SlackResponse> {
      return raw(eventCallbackBody(teamId, { type: 'app_home_opened', user: userId, channel: `D${userId}`, tab }), { contentType: 'application/json' });
    },
    viewSubmission(userId: string, v: { callbackId: string; privateMetadata: string; values: Record<string, Record<string, any>> }): Promise<SlackResponse> {
      return raw(
        payload({
          type: 'view_submission',
          team: { id: teamId, domain: 'test' },
          user: user(userId, teamId),
          api_app_id: 'A0JITJUMP',
          token: 'legacy-verification-token',
          trigger_id: o.fake.issueTriggerId(userId),
          view: {
            id: 'V0VIEW',
            type: 'modal',
            callback_id: v.callbackId,
            private_metadata: v.privateMetadata,
            state: { values: v.values },
            hash: 'h',
          },
        }),
      );
    },
  };
}

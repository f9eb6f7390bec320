// The local Slack API's own checks: as strict as Slack where the broker could get it wrong, and able to fail
// the way Slack fails. Driven with the real @slack/web-api client, as the broker drives it, or raw HTTP.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { LogLevel, WebClient, type Logger, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { startLocalSlackApi, type LocalSlackApi } from '../../src/sandbox/local-slack-api.ts';
import { approvalMessage, connectMessage, denyReasonModal } from '../../src/slack/messages.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

const TOKEN = 'xoxb-unit-bot-token-0123456789';
const APP = 'xapp-1-unit-app-token-0123456789';
/** The refusals are the point here: keep the client from printing each one. */
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => LogLevel.ERROR, setName() {} };

describe('local Slack API: strict like Slack', () => {
  let fake: LocalSlackApi;
  let clock = 1_700_000_000_000;
  let slack: WebClient;
  const client = (token?: string, o: ConstructorParameters<typeof WebClient>[1] = {}) =>
    new WebClient(token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger: quiet, ...o });
  /** the Slack error code a call fails with */
  const errorOf = async (call: Promise<unknown>) => {
    try {
      await call;
    } catch (err) {
      return (err as WebAPIPlatformError).data?.error ?? String(err);
    }
    assert.fail('the call worked');
  };
  const detailOf = async (call: Promise<unknown>) => {
    try {
      await call;
    } catch (err) {
      const data = (err as WebAPIPlatformError).data as { error: string; errors?: string[] };
      return `${data.error}: ${data.errors?.join(' | ') ?? ''}`;
    }
    assert.fail('the call worked');
  };
  const raw = (method: string, body: string | Buffer, contentType = 'application/x-www-form-urlencoded') =>
    fetch(`${fake.apiUrl}${method}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType }, body }).then((r) => r.json() as Promise<any>);

  before(async () => {
    fake = await startLocalSlackApi({ botToken: TOKEN, appToken: APP, now: () => clock });
    slack = client(TOKEN);
  });
  after(() => fake.stop());
  beforeEach(() => fake.reset());

  describe('token', () => {
    it('refuses a call without a token (not_authed) or with another token (invalid_auth), and does nothing', async () => {
      assert.equal(await errorOf(client(undefined).chat.postMessage({ channel: 'C1', text: 'hi' })), 'not_authed');
      assert.equal(await errorOf(client('xoxb-someone-elses-token-000').chat.postMessage({ channel: 'C1', text: 'hi' })), 'invalid_auth');
      assert.equal(await errorOf(client(APP).chat.postMessage({ channel: 'C1', text: 'hi' })), 'not_allowed_token_type');
      assert.deepEqual(fake.messages(), []);
      assert.deepEqual(
        fake.calls.map((c) => c.error),
        ['not_authed', 'invalid_auth', 'not_allowed_token_type'],
      );
    });

    it('takes the bot token in the Authorization header or the token form field; the app token only for apps.connections.open', async () => {
      await slack.chat.postMessage({ channel: 'C1', text: 'by header' });
      const form = await fetch(`${fake.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: TOKEN, channel: 'C1', text: 'by form field' }).toString(),
      }).then((r) => r.json() as Promise<any>);
      assert.equal(form.ok, true);
      assert.deepEqual(fake.messages('C1').map((m) => m.text), ['by header', 'by form field']);
      assert.ok(!fake.calls.some((c) => 'token' in c.args), 'the token is kept apart from the arguments');
      assert.equal(await errorOf(slack.apps.connections.open({})), 'not_allowed_token_type');
      assert.match(String((await client(APP).apps.connections.open({})).url), /^ws:\/\/127\.0\.0\.1:\d+\/socket$/);
    });
  });

  describe('trigger ids', () => {
    const view = denyReasonModal('r1', 'db-1') as never;

    it('opens a modal only for a trigger it issued, once, for the user it was issued to', async () => {
      assert.equal(await errorOf(slack.views.open({ trigger_id: '', view })), 'invalid_trigger_id');
      assert.equal(await errorOf(slack.views.open({ trigger_id: '12345.98765.abcd2358fdea', view })), 'invalid_trigger_id');
      const trigger = fake.issueTriggerId('U0OWNER');
      const opened = await slack.views.open({ trigger_id: trigger, view });
      assert.equal(opened.view?.callback_id, 'jit_deny_reason');
      assert.equal(await errorOf(slack.views.open({ trigger_id: trigger, view })), 'exchanged_trigger_id');
      assert.deepEqual(
        fake.views().map((v) => ({ user: v.user, triggerId: v.triggerId, metadata: v.view.private_metadata })),
        [{ user: 'U0OWNER', triggerId: trigger, metadata: 'r1' }],
      );
    });

    it('expires a trigger 3 s after it was issued (the fake clock, no waiting)', async () => {
      const justInTime = fake.issueTriggerId('U0OWNER');
      const late = fake.issueTriggerId('U0OWNER');
      clock += 3000;
      await slack.views.open({ trigger_id: justInTime, view });
      clock += 1;
      assert.equal(await errorOf(slack.views.open({ trigger_id: late, view })), 'expired_trigger_id');
      assert.equal(fake.views().length, 1);
    });

    it('checks the modal view itself before taking the trigger', async () => {
      const trigger = fake.issueTriggerId('U0OWNER');
      const longTitle = { ...denyReasonModal('r1', 'db-1'), title: { type: 'plain_text', text: 'x'.repeat(25) } };
      assert.match(await detailOf(slack.views.open({ trigger_id: trigger, view: longTitle as never })), /invalid_arguments: .*at most 24 characters \[json-pointer:\/view\/title\/text\]/);
      await slack.views.open({ trigger_id: trigger, view }); // still unused
    });
  });

  describe('views.publish (the Home tab)', () => {
    const home = (blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }]) => ({ type: 'home', blocks });

    it('keeps the latest Home tab per user, and how many were published', async () => {
      assert.equal(fake.home('U1'), undefined);
      await slack.views.publish({ user_id: 'U1', view: home() as never });
      await slack.views.publish({ user_id: 'U1', view: home([{ type: 'divider' }]) as never });
      await slack.views.publish({ user_id: 'U2', view: home() as never });
      assert.deepEqual(fake.home('U1')?.view.blocks, [{ type: 'divider' }]);
      assert.equal(fake.home('U1')?.count, 2);
      assert.equal(fake.home('U2')?.count, 1);
    });

    it('refuses what Slack refuses: a modal, more than 100 blocks, an unknown user; the last good view stays', async () => {
      await slack.views.publish({ user_id: 'U1', view: home() as never });
      assert.match(await detailOf(slack.views.publish({ user_id: 'U1', view: denyReasonModal('r1', 'db-1') as never })), /invalid_arguments: .*\[json-pointer:\/view\/type\]/);
      const many = Array.from({ length: 101 }, () => ({ type: 'divider' }));
      assert.match(await detailOf(slack.views.publish({ user_id: 'U1', view: home(many) as never })), /at most 100 blocks/);
      assert.equal(await errorOf(slack.views.publish({ user_id: 'C0CHANNEL', view: home() as never })), 'user_not_found');
      assert.equal(fake.home('U1')?.count, 1);
    });

    it('views.update redraws an open modal, checking it, refusing an unknown view and a stale hash', async () => {
      const opened = await slack.views.open({ trigger_id: fake.issueTriggerId('U1'), view: denyReasonModal('r1', 'db-1') as never });
      const id = opened.view!.id!;
      const hash = opened.view!.hash!;
      const redrawn = { ...denyReasonModal('r1', 'db-1'), title: { type: 'plain_text', text: 'Redrawn' } };
      await slack.views.update({ view_id: id, hash, view: redrawn as never });
      assert.equal(await errorOf(slack.views.update({ view_id: id, hash, view: redrawn as never })), 'hash_conflict');
      assert.equal(await errorOf(slack.views.update({ view_id: 'V0NOPE', view: redrawn as never })), 'not_found');
      const tooLong = { ...redrawn, title: { type: 'plain_text', text: 'x'.repeat(25) } };
      assert.match(await detailOf(slack.views.update({ view_id: id, view: tooLong as never })), /at most 24 characters/);
      const now = fake.views().find((v) => v.id === id)!;
      assert.deepEqual([now.view.title.text, now.updates], ['Redrawn', 1]);
    });

    it('checks a select menu: at most 100 options, an initial option among them', async () => {
      const select = (o: Record<string, unknown>) => ({
        ...denyReasonModal('r1', 'db-1'),
        blocks: [{ type: 'input', block_id: 'b', label: { type: 'plain_text', text: 'Host' }, element: { type: 'static_select', action_id: 'a', ...o } }],
      });
      const option = (v: string) => ({ text: { type: 'plain_text', text: v }, value: v });
      await slack.views.open({ trigger_id: fake.issueTriggerId('U1'), view: select({ options: [option('a')], initial_option: option('a') }) as never });
      const tooMany = select({ options: Array.from({ length: 101 }, (_, i) => option(`o${i}`)) });
      assert.match(await detailOf(slack.views.open({ trigger_id: fake.issueTriggerId('U1'), view: tooMany as never })), /at most 100 options/);
      const stray = select({ options: [option('a')], initial_option: option('b') });
      assert.match(await detailOf(slack.views.open({ trigger_id: fake.issueTriggerId('U1'), view: stray as never })), /initial_option must be one of the options/);
    });
  });

  describe('Block Kit, text and metadata', () => {
    const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
    const button = (o: Record<string, unknown> = {}) => ({ type: 'button', action_id: 'a', value: 'v', text: { type: 'plain_text', text: 'Approve' }, ...o });
    const actions = (o: Record<string, unknown> = {}) => ({ type: 'actions', elements: [button(o)] });
    const modal = (o: Record<string, unknown> = {}) => ({ ...denyReasonModal('r1', 'db-1'), ...o });

    it("accepts every message and modal the broker builds (messages.ts)", async () => {
      const policy = samplePolicy();
      const host = policy.hosts[0]!;
      const r = request({ host: host.name, jumpHost: host.jumpHost, reason: 'x'.repeat(5000) });
      for (const m of [approvalMessage(r), approvalMessage({ ...r, state: 'denied', decidedBy: 'U1', denyReason: 'no' })]) await slack.chat.postMessage({ channel: 'C1', ...m } as never);
      const active = { ...r, state: 'active' as const, expiresAt: Date.UTC(2026, 0, 1) };
      await slack.chat.postMessage({ channel: 'C1', ...connectMessage(active, connectInstructions(host, policy.jumpHosts[0]!)) } as never);
      await slack.views.open({ trigger_id: fake.issueTriggerId('U1'), view: denyReasonModal(r.id, host.name) as never });
      assert.equal(fake.messages('C1').length, 3);
      assert.ok(!fake.calls.some((c) => c.error), JSON.stringify(fake.calls.filter((c) => c.error)));
    });

    const messageCases: [string, Record<string, unknown>, RegExp][] = [
      ['51 blocks', { blocks: Array.from({ length: 51 }, () => section('x')) }, /invalid_blocks: .*at most 50 blocks \[json-pointer:\/blocks\]/],
      ['section text over 3000', { blocks: [section('x'.repeat(3001))] }, /invalid_blocks: .*at most 3000 .*\/blocks\/0\/text\/text/],
      ['a field over 2000', { blocks: [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'x'.repeat(2001) }] }] }, /invalid_blocks: .*\/blocks\/0\/fields\/0\/text/],
      ['a section without text or fields', { blocks: [{ type: 'section' }] }, /invalid_blocks: a section needs text or fields/],
      ['empty text', { blocks: [section('')] }, /invalid_blocks: must not be empty .*\/blocks\/0\/text\/text/],
      ['header over 150', { blocks: [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }] }, /invalid_blocks: .*at most 150 .*\/blocks\/0\/text\/text/],
      ['header in mrkdwn', { blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }] }, /invalid_blocks: .*\/blocks\/0\/text\/type/],
      ['button text over 75', { blocks: [actions({ text: { type: 'plain_text', text: 'x'.repeat(76) } })] }, /invalid_blocks: .*at most 75 .*\/blocks\/0\/elements\/0\/text\/text/],
      ['button text in mrkdwn', { blocks: [actions({ text: { type: 'mrkdwn', text: 'Approve' } })] }, /invalid_blocks: .*\/blocks\/0\/elements\/0\/text\/type/],
      ['action_id over 255', { blocks: [actions({ action_id: 'a'.repeat(256) })] }, /invalid_blocks: .*at most 255 .*\/blocks\/0\/elements\/0\/action_id/],
      ['block_id over 255', { blocks: [{ ...actions(), block_id: 'b'.repeat(256) }] }, /invalid_blocks: .*at most 255 .*\/blocks\/0\/block_id/],
      ['button value over 2000', { blocks: [actions({ value: 'v'.repeat(2001) })] }, /invalid_blocks: .*at most 2000 .*\/blocks\/0\/elements\/0\/value/],
      ['a button style Slack lacks', { blocks: [actions({ style: 'green' })] }, /invalid_blocks: .*\/blocks\/0\/elements\/0\/style/],
      ['a field Slack does not know', { blocks: [{ ...section('x'), colour: 'red' }] }, /invalid_blocks: .*colour/],
      ['an unknown block type', { blocks: [{ type: 'table' }] }, /invalid_blocks: .*\/blocks\/0\/type/],
      ['blocks that are not an array', { blocks: { type: 'section' } }, /invalid_blocks_format/],
      ['text over 40,000', { text: 'x'.repeat(40_001) }, /msg_too_long: text has 40001 characters, at most 40000/],
      ['neither text nor blocks', {}, /no_text/],
      ['metadata without event_type', { text: 'x', metadata: { event_payload: {} } }, /invalid_metadata_format: .*\/metadata\/event_type/],
      ['metadata whose payload is not an object', { text: 'x', metadata: { event_type: 'jit_audit', event_payload: 'r1' } }, /invalid_metadata_format: .*\/metadata\/event_payload/],
      // Slack would swallow these: `<host>` is read as a control sequence and renders as nothing.
      ['a raw <word> in section mrkdwn', { blocks: [section('`/jump request <host> [duration]`')] }, /invalid_blocks: "<host>" is not a Slack control sequence.*\/blocks\/0\/text\/text/],
      ['a raw <word> in a mrkdwn field', { blocks: [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'a <b> c' }] }] }, /invalid_blocks: "<b>" is not .*\/blocks\/0\/fields\/0\/text/],
      ['a raw <word> in context mrkdwn', { blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'see <id>' }] }] }, /invalid_blocks: "<id>" is not .*\/blocks\/0\/elements\/0\/text/],
      ['a < never closed', { blocks: [section('1 < 2')] }, /invalid_blocks: "< 2" is not a Slack control sequence/],
      ['a mention of a malformed user id', { blocks: [section('<@u0lower>')] }, /invalid_blocks: "<@u0lower>" is not/],
      ['a link without a scheme Slack knows', { blocks: [section('<javascript:alert(1)|click>')] }, /invalid_blocks: "<javascript:alert\(1\)\|click>" is not/],
      ['a raw <word> in the message text', { text: 'Use `/jump revoke <id>`.' }, /invalid_arguments: "<id>" is not a Slack control sequence.* \[json-pointer:\/text\]/],
    ];
    for (const [what, args, expected] of messageCases) {
      it(`refuses a message with ${what}, naming the problem, and stores nothing`, async () => {
        assert.match(await detailOf(slack.chat.postMessage({ channel: 'C1', ...args } as never)), expected);
        assert.deepEqual(fake.messages(), []);
      });
    }

    it('accepts every Slack control sequence in mrkdwn, escaped angle brackets, and any < in plain text', async () => {
      const sequences = [
        '<@U0ALICE>',
        '<@W0ENT|alice>',
        '<#C0GENERAL>',
        '<#C0GENERAL|general>',
        '<!here>',
        '<!channel>',
        '<!everyone>',
        '<!subteam^S0SRE>',
        '<!subteam^S0SRE|@sre>',
        '<!date^1700000000^{date_short_pretty} {time_secs}|2023-11-14T22:13:20Z>',
        '<!date^1700000000^{date}^https://example.com|Nov 14>',
        '<https://example.com>',
        '<http://example.com/a?b=c|a link>',
        '<mailto:sec@example.com|mail us>',
        '`/jump request &lt;host&gt;` a &gt; b &amp; c',
      ].join(' ');
      await slack.chat.postMessage({ channel: 'C1', text: sequences, blocks: [section(sequences), { type: 'context', elements: [{ type: 'plain_text', text: '<host> as typed' }] }] } as never);
      await slack.chat.postMessage({ channel: 'C1', text: 'plain <host>', mrkdwn: false });
      assert.equal(fake.messages('C1').length, 2);
    });

    it('checks chat.update and chat.postEphemeral too, and leaves the message as it was', async () => {
      const posted = await slack.chat.postMessage({ channel: 'C1', text: 'first', blocks: [section('first')] } as never);
      assert.match(await detailOf(slack.chat.update({ channel: 'C1', ts: posted.ts!, text: 'x', blocks: [section('x'.repeat(3001))] } as never)), /invalid_blocks/);
      assert.equal(fake.messages('C1')[0]!.text, 'first');
      assert.match(await detailOf(slack.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'x'.repeat(40_001) })), /msg_too_long/);
      assert.match(await detailOf(slack.chat.postEphemeral({ channel: 'C1', text: 'hi' } as never)), /invalid_arguments: missing required field: user/);
    });

    const modalCases: [string, Record<string, unknown>, RegExp][] = [
      ['101 blocks', { blocks: Array.from({ length: 101 }, () => section('x')) }, /at most 100 blocks \[json-pointer:\/view\/blocks\]/],
      ['a title over 24', { title: { type: 'plain_text', text: 'x'.repeat(25) } }, /\/view\/title\/text/],
      ['a title in mrkdwn', { title: { type: 'mrkdwn', text: 'Deny' } }, /\/view\/title\/type/],
      ['submit over 24', { submit: { type: 'plain_text', text: 'x'.repeat(25) } }, /\/view\/submit\/text/],
      ['close over 24', { close: { type: 'plain_text', text: 'x'.repeat(25) } }, /\/view\/close\/text/],
      ['an input block but no submit', { submit: undefined }, /a modal with an input block needs submit \[json-pointer:\/view\/submit\]/],
      ['no title', { title: undefined }, /\/view\/title/],
      ['private_metadata over 3000', { private_metadata: 'x'.repeat(3001) }, /\/view\/private_metadata/],
    ];
    for (const [what, o, expected] of modalCases) {
      it(`refuses a modal with ${what} (invalid_arguments) and keeps the trigger unused`, async () => {
        const trigger = fake.issueTriggerId('U1');
        assert.match(await detailOf(slack.views.open({ trigger_id: trigger, view: modal(o) as never })), new RegExp(`invalid_arguments: .*${expected.source}`));
        assert.deepEqual(fake.views(), []);
      });
    }

    it('refuses views.open without a view', async () => {
      assert.match(await detailOf(slack.views.open({ trigger_id: fake.issueTriggerId('U1') } as never)), /invalid_arguments: missing required field: view/);
    });

    it('records metadata on the stored message and hands it back in the history when asked for', async () => {
      const metadata = { event_type: 'jit_request_pending', event_payload: { request_id: 'r1', host: 'db-1', state: 'pending' } };
      await slack.chat.postMessage({ channel: 'C1', text: 'hi', metadata });
      assert.deepEqual(fake.messages('C1')[0]!.metadata, metadata);
      const history = await slack.conversations.history({ channel: 'C1', include_all_metadata: true });
      assert.deepEqual((history.messages?.[0] as { metadata?: unknown }).metadata, metadata);
      // Like Slack: without include_all_metadata the history leaves it out.
      const plain = await slack.conversations.history({ channel: 'C1' });
      assert.equal((plain.messages?.[0] as { metadata?: unknown }).metadata, undefined);
    });
  });

  describe('threads', () => {
    it('posts a reply in the thread its thread_ts names; the history leaves replies out, conversations.replies lists them', async () => {
      const parent = await slack.chat.postMessage({ channel: 'C1', text: 'the approval message' });
      const other = await slack.chat.postMessage({ channel: 'C1', text: 'another message' });
      const metadata = { event_type: 'jit_request_step', event_payload: { request_id: 'r1', step: 'approved' } };
      const reply = await slack.chat.postMessage({ channel: 'C1', thread_ts: parent.ts!, text: 'approved', metadata });
      // A reply's ts stands for its thread, as in Slack.
      await slack.chat.postMessage({ channel: 'C1', thread_ts: reply.ts!, text: 'active' });
      assert.deepEqual(fake.replies('C1', parent.ts!).map((m) => [m.text, m.thread_ts]), [['approved', parent.ts], ['active', parent.ts]]);
      assert.deepEqual(fake.replies('C1', other.ts!), []);
      const history = await slack.conversations.history({ channel: 'C1' });
      assert.deepEqual(history.messages?.map((m) => m.text), ['another message', 'the approval message']);
      const thread = await slack.conversations.replies({ channel: 'C1', ts: parent.ts!, include_all_metadata: true } as never);
      assert.deepEqual(thread.messages?.map((m) => m.text), ['the approval message', 'approved', 'active']);
      assert.deepEqual((thread.messages?.[1] as { metadata?: unknown }).metadata, metadata);
      assert.equal(fake.messages('C1').length, 4, 'messages() lists replies too');
    });

    it('refuses a thread_ts that is malformed (invalid_thread_ts) or names no message of the channel (thread_not_found)', async () => {
      const parent = await slack.chat.postMessage({ channel: 'C1', text: 'the approval message' });
      assert.equal(await errorOf(slack.chat.postMessage({ channel: 'C1', thread_ts: 'yesterday', text: 'x' })), 'invalid_thread_ts');
      assert.equal(await errorOf(slack.chat.postMessage({ channel: 'C1', thread_ts: '1700000000.999999', text: 'x' })), 'thread_not_found');
      assert.equal(await errorOf(slack.chat.postMessage({ channel: 'C2', thread_ts: parent.ts!, text: 'x' })), 'thread_not_found');
      assert.equal(await errorOf(slack.conversations.replies({ channel: 'C2', ts: parent.ts! })), 'thread_not_found');
      assert.equal(fake.messages().length, 1, 'nothing stored');
    });
  });

  describe('encoding', () => {
    it('refuses a form body that is not UTF-8, or not percent-encoded UTF-8, instead of storing U+FFFD', async () => {
      const notUtf8 = Buffer.concat([Buffer.from('channel=C1&text='), Buffer.from([0xc3, 0x28])]);
      assert.deepEqual([(await raw('chat.postMessage', notUtf8)).error], ['invalid_form_data']);
      const badPercent = await raw('chat.postMessage', 'channel=C1&text=%C3%28');
      assert.equal(badPercent.error, 'invalid_form_data');
      assert.match(badPercent.errors[0], /"text" is not valid percent-encoded UTF-8/);
      assert.equal((await raw('chat.postMessage', Buffer.from([0x7b, 0xff, 0x7d]), 'application/json')).error, 'invalid_json');
      assert.deepEqual(fake.messages(), []);
    });

    it('refuses a lone UTF-16 surrogate anywhere (it is not text), naming where; accepts real astral characters', async () => {
      const lone = await raw('chat.postMessage', JSON.stringify({ channel: 'C1', text: 'ok', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'half \ud83d' } }] }), 'application/json');
      assert.equal(lone.error, 'invalid_arguments');
      assert.match(lone.errors[0], /lone UTF-16 surrogate .*\[json-pointer:\/blocks\/0\/text\/text\]/);
      // Through the client, as form fields: the blocks JSON carries the half pair as an escape.
      assert.match(await detailOf(slack.chat.postMessage({ channel: 'C1', text: 'ok', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '\udc00' } }] } as never)), /lone UTF-16 surrogate/);
      await slack.chat.postMessage({ channel: 'C1', text: 'key 🔑 ok' });
      assert.deepEqual(fake.messages('C1').map((m) => m.text), ['key 🔑 ok']);
    });
  });

  describe('answers: response_url and slash command responses', () => {
    const respond = (body: unknown) =>
      fetch(fake.responseUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));

    it('checks a message sent to a response_url as a posted one: refused with a 400 and Slack’s code, recorded', async () => {
      assert.deepEqual(await respond({ response_type: 'ephemeral', text: 'Done.' }), { status: 200, text: 'ok' });
      const raw = await respond({ text: 'Use `/jump revoke <id>`.' });
      assert.equal(raw.status, 400);
      assert.match(raw.text, /^invalid_arguments: "<id>" is not a Slack control sequence/);
      const half = await respond({ text: 'ok', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'half \ud83d' } }] });
      assert.match(half.text, /lone UTF-16 surrogate .*\/blocks\/0\/text\/text/);
      assert.match((await respond({ blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] })).text, /^invalid_blocks/);
      assert.equal((await respond({ delete_original: true })).status, 200, 'deleting needs no text');
      assert.deepEqual(
        fake.calls.map((c) => [c.method, c.error]),
        [
          ['response_url', undefined],
          ['response_url', 'invalid_arguments'],
          ['response_url', 'invalid_arguments'],
          ['response_url', 'invalid_blocks'],
          ['response_url', undefined],
        ],
      );
    });

    it('checks a slash command’s answer (answered), records it, and names the problem', () => {
      assert.equal(fake.answered('command_response', { response_type: 'ephemeral', text: 'Request `r1` sent.' }), undefined);
      assert.match(fake.answered('command_response', { response_type: 'ephemeral', text: '`/jump key add <ssh public key>`' })!.detail, /"<ssh public key>" is not a Slack control sequence/);
      assert.equal(fake.answered('command_response', { text: 'x'.repeat(40_001) })!.error, 'msg_too_long');
      assert.deepEqual(
        fake.calls.map((c) => [c.method, c.error]),
        [
          ['command_response', undefined],
          ['command_response', 'invalid_arguments'],
          ['command_response', 'msg_too_long'],
        ],
      );
    });
  });

  describe('failure injection', () => {
    it('fails the next call of a method with an error code, once by default', async () => {
      fake.failNext('chat.postMessage', 'channel_not_found');
      assert.equal(await errorOf(slack.chat.postMessage({ channel: 'C1', text: 'a' })), 'channel_not_found');
      await slack.chat.postMessage({ channel: 'C1', text: 'b' });
      assert.deepEqual(fake.messages('C1').map((m) => m.text), ['b']);
    });

    it('answers missing_scope with the needed and provided scopes, as Slack does', async () => {
      fake.failNext('chat.postMessage', { error: 'missing_scope', needed: 'chat:write', provided: 'commands,users:read' });
      try {
        await slack.chat.postMessage({ channel: 'C1', text: 'a' });
        assert.fail('worked');
      } catch (err) {
        const { ok, error, needed, provided } = (err as WebAPIPlatformError).data as { ok: boolean; error: string; needed?: string; provided?: string };
        assert.deepEqual({ ok, error, needed, provided }, { ok: false, error: 'missing_scope', needed: 'chat:write', provided: 'commands,users:read' });
      }
    });

    it('answers HTTP 429 with Retry-After, and stores nothing', async () => {
      fake.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
      try {
        await client(TOKEN, { rejectRateLimitedCalls: true }).chat.postMessage({ channel: 'C1', text: 'a' });
        assert.fail('worked');
      } catch (err) {
        assert.equal((err as WebAPIRateLimitedError).code, 'slack_webapi_rate_limited_error');
        assert.equal((err as WebAPIRateLimitedError).retryAfter, 7);
      }
      assert.deepEqual(fake.messages(), []);
      assert.deepEqual(fake.calls.map((c) => [c.status, c.error]), [[429, 'ratelimited']]);
    });

    it('fails only matching calls, as many times as asked, until cleared', async () => {
      fake.failNext('chat.postMessage', 'not_in_channel', { times: Infinity, match: (a) => a.channel === 'C0AUDIT' });
      assert.equal(await errorOf(slack.chat.postMessage({ channel: 'C0AUDIT', text: '1' })), 'not_in_channel');
      await slack.chat.postMessage({ channel: 'C1', text: 'elsewhere' });
      assert.equal(await errorOf(slack.chat.postMessage({ channel: 'C0AUDIT', text: '2' })), 'not_in_channel');
      fake.clearFailures();
      await slack.chat.postMessage({ channel: 'C0AUDIT', text: '3' });
      assert.deepEqual(fake.messages().map((m) => m.text), ['elsewhere', '3']);
    });
  });
});

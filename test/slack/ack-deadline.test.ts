// A slash command is acked within Slack's 3 s whatever the store does: a late outcome gets a "working" ack,
// then arrives on the response_url, once. The service is a double held by the test (no clock involved).
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import type { App } from '@slack/bolt';
import pino from 'pino';
import { createBoltApp } from '../../src/slack/bolt-app.ts';
import { replyText, SLACK_REPLIES } from '../../src/slack/messages.ts';
import type { AccessService, Outcome } from '../../src/service/access-service.ts';
import { startLocalSlackApi, type LocalSlackApi } from '../../src/sandbox/local-slack-api.ts';
import { createSlackSender, slashCommandFields } from '../../src/sandbox/slack-sender.ts';
import { until } from '../support/flow.ts';

const BOT_TOKEN = 'xoxb-ack-test-bot-token-0123456789';
const APP_TOKEN = 'xapp-1-ack-test-app-token-0123456789';
const SIGNING_SECRET = 'ack-test-signing-secret-0123456789';
const TEAM = 'T0TEST';
const USER = 'U0ERIN';
const REPLY = { kind: 'request-sent', id: 'r0000000001', host: 'internal-1', durationMs: 600_000, requiredApprovals: 1 } as const;

/** A service whose /jump outcome comes when the test says so; counts the commands and follow-ups run. */
function heldService() {
  let release!: (o: Outcome) => void;
  const held = new Promise<Outcome>((r) => (release = r));
  const seen = { commands: 0, afters: 0 };
  let hold = true;
  const service = {
    command: () => {
      seen.commands++;
      return hold ? held : Promise.resolve({ reply: REPLY, after: async () => void seen.afters++ });
    },
    refuseCaller: async () => undefined,
  } as unknown as AccessService;
  return {
    service,
    seen,
    release: () => release({ reply: REPLY, after: async () => void seen.afters++ }),
    answerAtOnce: () => (hold = false),
  };
}

const responseUrlCalls = (slack: LocalSlackApi) => slack.calls.filter((c) => c.method === 'response_url');

describe('slash command ack deadline', () => {
  let slack: LocalSlackApi;
  let app: App | undefined;
  before(async () => {
    slack = await startLocalSlackApi({ botToken: BOT_TOKEN, appToken: APP_TOKEN, teamId: TEAM });
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    slack.reset();
  });
  after(async () => {
    await slack.stop();
  });

  const start = async (svc: AccessService, ackDeadlineMs: number, socketMode = false) => {
    app = createBoltApp({
      botToken: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      ...(socketMode ? { appToken: APP_TOKEN } : {}),
      apiUrl: slack.apiUrl,
      teamId: TEAM,
      service: svc,
      logger: pino({ level: 'silent' }),
      ackDeadlineMs,
    });
    if (socketMode) {
      await app.start();
      await slack.socketConnected(60_000);
      return undefined;
    }
    const server = (await app.start({ port: 0, host: '127.0.0.1' } as never)) as unknown as Server;
    const port = (server.address() as { port: number }).port;
    return createSlackSender({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, teamId: TEAM, fake: slack });
  };

  /** After the "working" ack: release the outcome, see it once on the response_url, replacing the ack. */
  const lateAnswerArrivesOnce = async (s: ReturnType<typeof heldService>) => {
    assert.equal(responseUrlCalls(slack).length, 0);
    s.release();
    await until('the follow-up work of the late outcome', () => s.seen.afters === 1, 30_000);
    // respond() finished before the follow-up started: every answer there is to see is recorded now.
    const answers = responseUrlCalls(slack);
    assert.equal(answers.length, 1, JSON.stringify(answers));
    assert.equal(answers[0]!.error, undefined);
    assert.equal(answers[0]!.args.text, replyText(REPLY));
    assert.equal(answers[0]!.args.response_type, 'ephemeral');
    assert.equal(answers[0]!.args.replace_original, true);
    assert.equal(s.seen.commands, 1);
  };

  it('HTTP: a late outcome is acked 200 with "working", then answered on the response_url, once', async () => {
    const s = heldService();
    const sender = (await start(s.service, 50))!;
    // Before the fix the ack waited for the outcome: Bolt answered 404 after 3 s.
    const res = await sender.command(USER, 'request internal-1 10m late store');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.problem, undefined);
    assert.equal(res.json?.text, SLACK_REPLIES.working);
    assert.equal(res.json?.response_type, 'ephemeral');
    await lateAnswerArrivesOnce(s);
  });

  it('HTTP: an outcome ready in time is the ack itself, nothing on the response_url', async () => {
    const s = heldService();
    s.answerAtOnce();
    const sender = (await start(s.service, 60_000))!;
    const res = await sender.command(USER, 'request internal-1 10m fast store');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json?.text, replyText(REPLY));
    await until('the follow-up work', () => s.seen.afters === 1, 30_000);
    assert.equal(responseUrlCalls(slack).length, 0);
  });

  it('Socket Mode: a late outcome is acked with "working", then answered on the response_url, once', async () => {
    const s = heldService();
    await start(s.service, 50, true);
    const ack = await slack.socketSend('slash_commands', slashCommandFields(slack, TEAM, USER, 'request internal-1 10m late store'), 30_000);
    assert.equal(ack.payload?.text, SLACK_REPLIES.working);
    await lateAnswerArrivesOnce(s);
  });
});

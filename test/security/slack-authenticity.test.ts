// Requests that did not come from our Slack workspace, or not from Slack at all, change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker } from '../../src/broker.ts';
import { readEnv } from '../../src/config/env.ts';
import { createLogger } from '../../src/logger.ts';
import { createSlackSender, signSlackRequest, slashCommandFields } from '../../src/sandbox/slack-sender.ts';
import { auditTypes, posts, requestAccess, until } from '../support/flow.ts';
import { AUDIT_CHANNEL, BOT_TOKEN, ENGINEER, OUTSIDER, OWNER, SIGNING_SECRET, startWorld, TEAM_ID, type World } from '../support/world.ts';

describe('Slack authenticity (end to end)', () => {
  let world: World;
  const url = () => `http://127.0.0.1:${world.broker.port}/slack/events`;
  const form = (user: string, text: string, extra: Record<string, string> = {}) =>
    new URLSearchParams({ ...slashCommandFields(world.slack, TEAM_ID, user, text), ...extra }).toString();
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    world = await startWorld({ limits: { maxCommandLength: 1000, maxBodyBytes: 32 * 1024 } });
  });
  after(async () => {
    await world?.stop();
  });

  it('accepts a correctly signed request (the baseline the refusals are compared with)', async () => {
    const res = await world.sender.raw(form(OUTSIDER, 'key'));
    assert.equal(res.status, 200);
    assert.match(res.json.text, /no key registered/);
  });

  it('refuses a forged signature, a wrong secret, a missing signature: 401 and no key stored', async () => {
    const body = form(OUTSIDER, `key add ${world.engineerKey.publicKey}`);
    const ts = now();
    for (const signature of [
      signSlackRequest('not-the-signing-secret', ts, body),
      signSlackRequest(SIGNING_SECRET, ts, `${body}&x=1`),
      'v0=' + '0'.repeat(64),
      'v1=' + signSlackRequest(SIGNING_SECRET, ts, body).slice(3),
      '',
    ]) {
      const res = await world.sender.raw(body, { timestamp: ts, signature });
      assert.equal(res.status, 401, signature);
    }
    assert.equal(await world.broker.keys.get(OUTSIDER), undefined);
  });

  it('refuses stale and future-dated requests even when signed with the right secret', async () => {
    const body = form(OUTSIDER, `key add ${world.engineerKey.publicKey}`);
    for (const skew of [-301, -3600, 301, 3600, 86_400 * 365]) {
      const res = await world.sender.raw(body, { timestamp: now() + skew });
      assert.equal(res.status, 401, `skew ${skew}s`);
    }
    assert.equal(await world.broker.keys.get(OUTSIDER), undefined);
    assert.ok(world.logs.some((l) => /in the future/.test(l) && /Slack request refused/.test(l)), 'the future-dated one is logged');
    // within the window, both ways, still works
    for (const skew of [-240, 240]) assert.equal((await world.sender.raw(form(OUTSIDER, 'help'), { timestamp: now() + skew })).status, 200);
  });

  it('refuses a slash command from another workspace: ephemeral refusal, audit event, nothing stored', async () => {
    const res = await world.sender.command(OUTSIDER, `key add ${world.engineerKey.publicKey}`, { team_id: 'T0OTHER' });
    assert.equal(res.status, 200);
    assert.equal(res.json.text, 'This jit-jump installation does not serve your Slack workspace.');
    assert.equal(res.json.response_type, 'ephemeral');
    assert.equal(await world.broker.keys.get(OUTSIDER), undefined);
    await until('audit', () => posts(world, AUDIT_CHANNEL).find((c) => /\*refused\*/.test(c.args.text) && /workspace T0OTHER/.test(c.args.text)));
  });

  it('refuses button clicks and modal submissions from another workspace', async () => {
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
    const id = await requestAccess(world, ENGINEER, 'request internal-2 5s cross-workspace test');
    const msg = await until('approval message', () => world.slack.messages(`D${OWNER}`).find((m) => JSON.stringify(m.blocks).includes(id)));
    const foreign = createSlackSender({ url: url(), signingSecret: SIGNING_SECRET, teamId: 'T0OTHER', fake: world.slack });
    // the owner's own id, but from another workspace: an id is only meaningful inside its workspace
    const click = await foreign.blockAction(OWNER, { actionId: 'jit_approve', value: id, blockId: `decision:${id}`, message: { channel: msg.channel, ts: msg.ts } });
    assert.equal(click.status, 200);
    const deny = await foreign.viewSubmission(OWNER, { callbackId: 'jit_deny_reason', privateMetadata: id, values: { reason: { reason_input: { type: 'plain_text_input', value: 'no' } } } });
    assert.equal(deny.status, 200);
    await until('two refusals audited', () => posts(world, AUDIT_CHANNEL).filter((c) => /\*refused\*/.test(c.args.text) && /T0OTHER/.test(c.args.text)).length >= 3);
    const req = await world.broker.requests.get(id);
    assert.equal(req?.state, 'pending');
    assert.deepEqual(req?.approvers, []);
  });

  it('refuses a request whose response_url is not Slack’s', async () => {
    for (const evil of ['https://evil.example/hook', 'https://hooks.slack.com.evil.example/x', 'http://hooks.slack.com/commands/1']) {
      const res = await world.sender.command(OUTSIDER, `key add ${world.engineerKey.publicKey}`, { response_url: evil });
      assert.equal(res.status, 200);
      assert.match(res.json.text, /refused this request: it did not come from Slack/);
    }
    assert.equal(await world.broker.keys.get(OUTSIDER), undefined);
    assert.ok(!world.slack.calls.some((c) => c.method === 'response_url' && /evil/.test(String(c.args.url))));
  });

  it('refuses an oversized body with 413 and an over-long command with a clear message', async () => {
    const huge = form(OUTSIDER, `request internal-1 1h ${'x'.repeat(40 * 1024)}`);
    assert.equal((await world.sender.raw(huge)).status, 413);
    const long = await world.sender.command(OUTSIDER, `request internal-1 1h ${'x'.repeat(1000)}`);
    assert.equal(long.status, 200);
    assert.match(long.json.text, /too long \(over 1000 characters\)/);
    assert.ok(auditTypes(world).length > 0);
  });

  it('serves only the policy’s teamId when set, and refuses everything while it cannot learn the token’s workspace', async () => {
    const env = readEnv({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: world.slack.apiUrl, REDIS_URL: world.redisUrl, PORT: '0' });
    const logger = createLogger({ level: 'silent' });
    const pinned = await startBroker({ env, policy: { ...world.policy, teamId: 'T0ELSEWHERE' }, logger, host: '127.0.0.1', redisPrefix: '{team-test}' });
    const unpinned = await startBroker({ env, policy: world.policy, logger, host: '127.0.0.1', redisPrefix: '{team-test2}' });
    try {
      const at = (b: { port?: number }, teamId: string) => createSlackSender({ url: `http://127.0.0.1:${b.port}/slack/events`, signingSecret: SIGNING_SECRET, teamId, fake: world.slack });
      assert.match((await at(pinned, TEAM_ID).command(OUTSIDER, 'help')).json.text, /does not serve your Slack workspace/);
      assert.match((await at(pinned, 'T0ELSEWHERE').command(OUTSIDER, 'help')).json.text, /just-in-time SSH access/);
      // without teamId the bot token's workspace (auth.test) is the one; while auth.test fails, nothing gets in
      world.slack.failNext('auth.test', 'invalid_auth');
      assert.match((await at(unpinned, TEAM_ID).command(OUTSIDER, 'help')).json.text, /could not check which workspace/);
      assert.match((await at(unpinned, TEAM_ID).command(OUTSIDER, 'help')).json.text, /just-in-time SSH access/);
      assert.match((await at(unpinned, 'T0ELSEWHERE').command(OUTSIDER, 'help')).json.text, /does not serve your Slack workspace/);
    } finally {
      await pinned.stop();
      await unpinned.stop();
    }
  });

  it('refuses to start when Slack refuses the bot token, naming SLACK_BOT_TOKEN and the fix; nothing is started', async () => {
    const env = readEnv({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: world.slack.apiUrl, REDIS_URL: world.redisUrl, PORT: '0' });
    world.slack.failNext('auth.test', 'invalid_auth');
    const connectsBefore = world.slack.calls.length;
    await assert.rejects(
      startBroker({ env, policy: world.policy, logger: createLogger({ level: 'silent' }), host: '127.0.0.1', redisPrefix: '{team-test4}' }),
      (err: Error) => /^SLACK_BOT_TOKEN: Slack refused the bot token \(invalid_auth\)\. Copy the app's "Bot User OAuth Token"/.test(err.message) && !err.message.includes('\n'),
    );
    assert.deepEqual(world.slack.calls.slice(connectsBefore).map((c) => c.method), ['auth.test'], 'Slack was asked once, nothing else was started');
  });

  it('keeps running when Slack fails auth.test at start for a while (one line), and serves requests once Slack answers (one line)', async () => {
    const env = readEnv({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: world.slack.apiUrl, REDIS_URL: world.redisUrl, PORT: '0' });
    const calls = () => world.slack.calls.filter((c) => c.method === 'auth.test').length;
    const before = calls();
    // Slack's own transient errors: the start goes on, the check is repeated.
    world.slack.failNext('auth.test', 'fatal_error', { times: 2 });
    const logs: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(line) } });
    const broker = await startBroker({ env, policy: world.policy, logger, host: '127.0.0.1', redisPrefix: '{team-test3}' });
    try {
      assert.ok(calls() > before);
      assert.equal(logs.filter((l) => /Slack unreachable: fatal_error; asking again every 5 s/.test(l)).length, 1);
      await until('Slack answers again', () => logs.some((l) => /Slack answers again/.test(l)) || undefined, 60_000);
      assert.equal(logs.filter((l) => /Slack unreachable/.test(l)).length, 1, 'one line for the outage, not one per try');
      await new Promise((r) => setImmediate(r)); // any rejection left unhandled would be reported here
      const sender = createSlackSender({ url: `http://127.0.0.1:${broker.port}/slack/events`, signingSecret: SIGNING_SECRET, teamId: TEAM_ID, fake: world.slack });
      const res = await sender.command(OUTSIDER, 'help');
      assert.equal(res.status, 200);
      assert.match(res.json.text, /just-in-time SSH access/);
    } finally {
      await broker.stop();
    }
  });
});

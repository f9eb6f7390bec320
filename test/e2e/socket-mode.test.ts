// With SLACK_APP_TOKEN the broker dials out over Socket Mode instead of listening: same flow, no public URL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blockActionPayload, eventCallbackBody, findButton, slashCommandFields } from '../../src/sandbox/slack-sender.ts';
import { posts, until } from '../support/flow.ts';
import { probe, scrapeMetrics } from '../support/health.ts';
import { APP_TOKEN, AUDIT_CHANNEL, ENGINEER, OUTSIDER, OWNER, startWorld, type World } from '../support/world.ts';

describe('Socket Mode', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ socketMode: true });
    await world.slack.socketConnected();
  });
  after(async () => {
    await world?.stop();
  });

  it('opens the connection through SLACK_API_URL with the app token, and listens on no port', () => {
    const open = world.slack.calls.find((c) => c.method === 'apps.connections.open');
    assert.ok(open, 'apps.connections.open went to the configured API URL');
    assert.equal(open.token, APP_TOKEN);
    assert.equal(world.broker.port, undefined);
  });

  it('answers slash commands and button clicks arriving over the socket', async () => {
    const keyAck = await world.slack.socketSend('slash_commands', slashCommandFields(world.slack, 'T0TEST', ENGINEER, `key add ${world.engineerKey.publicKey}`));
    assert.match(keyAck.payload?.text ?? '', /Key registered: ssh-ed25519 `SHA256:/);
    const reqAck = await world.slack.socketSend('slash_commands', slashCommandFields(world.slack, 'T0TEST', ENGINEER, 'request internal-2 10m socket test'));
    const id = /Request `(r[a-z0-9]+)`/.exec(reqAck.payload?.text ?? '')?.[1];
    assert.ok(id, JSON.stringify(reqAck));
    const msg = await world.slack.waitFor(() => world.slack.messages(`D${OWNER}`).find((m) => JSON.stringify(m.blocks).includes(id)));
    const b = findButton(msg.blocks, 'jit_approve');
    await world.slack.socketSend(
      'interactive',
      blockActionPayload(world.slack, 'T0TEST', OWNER, { actionId: b.actionId, value: b.value, blockId: b.blockId, message: { channel: msg.channel, ts: msg.ts } }),
    );
    await world.slack.waitFor(() => world.jump.readAuthorizedKeys().includes(`jit:${id}`));
    await world.slack.waitFor(() => world.slack.calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === `D${ENGINEER}` && c.args.metadata?.event_type === 'jit_grant_active'));
  });

  it('refuses a command and a click from another workspace over the socket: refusal, audit event, nothing stored', async () => {
    const ack = await world.slack.socketSend('slash_commands', slashCommandFields(world.slack, 'T0OTHER', OUTSIDER, `key add ${world.engineerKey.publicKey}`));
    assert.equal(ack.payload?.text, 'This jit-jump installation does not serve your Slack workspace.');
    assert.equal(await world.broker.keys.get(OUTSIDER), undefined);
    await world.slack.socketSend(
      'interactive',
      blockActionPayload(world.slack, 'T0OTHER', OWNER, { actionId: 'jit_approve', value: 'r0000000000', blockId: 'approval', message: { channel: `D${OWNER}`, ts: '1700000000.000001' } }),
    );
    await until('both refusals audited', () => posts(world, AUDIT_CHANNEL).filter((c) => c.args.metadata?.event_payload.audit_type === 'refused' && c.args.metadata.event_payload.code === 'other-workspace' && /workspace T0OTHER/.test(c.args.text)).length === 2);
  });

  it('opens the request form for /jump request alone, and draws the Home tab on app_home_opened, over the socket', async () => {
    const fields = slashCommandFields(world.slack, 'T0TEST', ENGINEER, 'request');
    const ack = await world.slack.socketSend('slash_commands', fields);
    assert.equal(ack.payload?.text, undefined, 'the form is the answer');
    const form = await until('the form', () => world.slack.views().find((v) => v.triggerId === fields.trigger_id));
    assert.equal(form.view.callback_id, 'jit_request_form');
    const count = world.slack.home(ENGINEER)?.count ?? 0;
    await world.slack.socketSend('events_api', JSON.parse(eventCallbackBody('T0TEST', { type: 'app_home_opened', user: ENGINEER, channel: `D${ENGINEER}`, tab: 'home' })));
    await until('the Home tab', () => (world.slack.home(ENGINEER)?.count ?? 0) > count || undefined);
    assert.equal(world.slack.home(ENGINEER)?.view.type, 'home');
  });

  it('reconnects after Slack drops the socket, and the next command works', async () => {
    const opens = () => world.slack.calls.filter((c) => c.method === 'apps.connections.open').length;
    const before = opens();
    world.slack.dropSocket();
    await until('apps.connections.open again', () => opens() > before, 60_000, 50);
    await world.slack.socketConnected(60_000);
    const ack = await world.slack.socketSend('slash_commands', slashCommandFields(world.slack, 'T0TEST', ENGINEER, 'help'), 30_000);
    assert.match(ack.payload?.text ?? '', /\/jump request &lt;host&gt;/);
  });

  // Last: it stops this world's Redis.
  it('serves /healthz, /readyz and /metrics on a port of their own; /readyz is 503 while Redis is down and 200 when it is back', async () => {
    assert.ok(world.broker.healthPort, 'a health port is listened on in Socket Mode');
    const base = `http://127.0.0.1:${world.broker.healthPort}`;
    assert.deepEqual(await probe(base, '/healthz'), { status: 200, body: { ok: true } });
    const ready = await until('/readyz 200', async () => {
      const r = await probe(base, '/readyz');
      return r.status === 200 ? r : undefined;
    });
    assert.deepEqual(ready.body.checks, { redis: 'ok', workers: 'ok', reconcile: 'ok', slack: 'ok' });
    // The request made over the socket above is counted once the audit forwarder has posted it.
    const metrics = await until('the request counted', async () => {
      const m = await scrapeMetrics(base);
      return (m.value('jit_requests_total', { outcome: 'requested' }) ?? 0) >= 1 ? m : undefined;
    }, 30_000, 250);
    assert.ok((metrics.value('process_resident_memory_bytes') ?? 0) > 0, 'the default process metrics are there');

    await world.redis!.kill9();
    const down = await probe(base, '/readyz');
    assert.equal(down.status, 503);
    assert.notEqual(down.body.checks.redis, 'ok', JSON.stringify(down.body));
    assert.equal((await probe(base, '/healthz')).status, 200, 'the process still answers');
    await world.redis!.restart();
    await until('/readyz 200 again', async () => (await probe(base, '/readyz')).status === 200, 30_000, 100);
  });
});

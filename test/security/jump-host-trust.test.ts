// The broker trusts a jump server only by its pinned host key, and its own key only when nobody else can read it.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sshpk from 'sshpk';
import { startBroker, type Broker } from '../../src/broker.ts';
import { readEnv } from '../../src/config/env.ts';
import { PolicyError, type Policy } from '../../src/config/policy.ts';
import { createLogger } from '../../src/logger.ts';
import { createSlackSender } from '../../src/sandbox/slack-sender.ts';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { posts, until } from '../support/flow.ts';
import { AUDIT_CHANNEL, BOT_TOKEN, OWNER, SIGNING_SECRET, startWorld, TEAM_ID, type World } from '../support/world.ts';

describe('jump server trust (end to end)', () => {
  let world: World;
  let broker: Broker | undefined;
  const logs: string[] = [];

  const brokerFor = (policy: Policy, prefix: string) =>
    startBroker({
      env: readEnv({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: world.slack.apiUrl, REDIS_URL: world.redisUrl, PORT: '0' }),
      policy,
      logger: createLogger({ level: 'debug', secrets: [BOT_TOKEN, SIGNING_SECRET], destination: { write: (l: string) => void logs.push(l) } }),
      host: '127.0.0.1',
      redisPrefix: prefix,
    });

  before(async () => {
    world = await startWorld();
  });
  after(async () => {
    await broker?.stop();
    await world?.stop();
  });

  it('writes nothing to a jump server presenting another host key, and alerts with both fingerprints', async () => {
    const impostorKey = generateUserKey(world.dir, 'impostor_host_key');
    const pinned = sshpk.parseKey(impostorKey.publicKey, 'ssh').fingerprint('sha256').toString();
    const presented = world.jump.hostKeyFingerprint;
    assert.notEqual(pinned, presented);
    const jh = world.policy.jumpHosts[0]!;
    broker = await brokerFor({ ...world.policy, jumpHosts: [{ ...jh, hostKey: pinned }] }, '{pin-test}');
    const sender = createSlackSender({ url: `http://127.0.0.1:${broker.port}/slack/events`, signingSecret: SIGNING_SECRET, teamId: TEAM_ID, fake: world.slack });
    const before = world.jump.readAuthorizedKeys();

    const user = 'U0PINNED';
    const key = generateUserKey(world.dir, 'pinned_user');
    assert.match((await sender.command(user, `key add ${key.publicKey}`)).json.text, /Key registered/);
    const res = await sender.command(user, 'request internal-2 10m host key test');
    const id = /Request `(r[a-z0-9]+)`/.exec(res.json.text)?.[1];
    assert.ok(id, res.body);
    const msg = await until('approval message', () => world.slack.messages(`D${OWNER}`).find((m) => JSON.stringify(m.blocks).includes(id)));
    await sender.blockAction(OWNER, { actionId: 'jit_approve', value: id, blockId: `decision:${id}`, message: { channel: msg.channel, ts: msg.ts } });

    await until('activation failed', async () => (await broker!.requests.get(id))?.state === 'failed', 30_000);
    assert.equal(world.jump.readAuthorizedKeys(), before, 'authorized_keys untouched');
    assert.ok(!world.jump.readAuthorizedKeys().includes(key.publicKey.split(' ')[1]!));

    const alert = await until('audit alert', () => posts(world, AUDIT_CHANNEL).find((c) => c.args.metadata?.event_type === 'jit_jump_host_alert'));
    assert.ok(alert.args.text.includes(pinned) && alert.args.text.includes(presented), alert.args.text);
    assert.match(alert.args.text, /nothing was written/);
    const errorLine = logs.find((l) => /"level":50/.test(l) && l.includes(pinned) && l.includes(presented) && /nothing was written/.test(l));
    assert.ok(errorLine, 'an error log line names both fingerprints');
    // Retries do not flood the channel: one alert per jump host and presented key per quiet period. Counted once
    // the requester has been told, which comes after every sync attempt of this activation.
    await until('requester told', () => posts(world, `D${user}`).find((c) => c.args.text.includes(id) && /failed/.test(c.args.text)));
    await until('the failure in the audit trail', () => posts(world, AUDIT_CHANNEL).find((c) => c.args.text.includes(id) && /\*failed\*/.test(c.args.text)));
    assert.equal(posts(world, AUDIT_CHANNEL).filter((c) => /\*jump-host-alert\*/.test(c.args.text)).length, 1);
  });

  it('refuses to start with a private key file that group or others can read', async () => {
    const jh = world.policy.jumpHosts[0]!;
    for (const mode of [0o640, 0o604, 0o644]) {
      const copy = join(world.dir, `broker_key_${mode.toString(8)}`);
      copyFileSync(jh.privateKeyPath, copy);
      chmodSync(copy, mode);
      await assert.rejects(brokerFor({ ...world.policy, jumpHosts: [{ ...jh, privateKeyPath: copy }] }, `{mode-${mode}}`), (err: unknown) => {
        assert.ok(err instanceof PolicyError);
        assert.match(err.message, new RegExp(`readable by group or others \\(mode ${mode.toString(8)}\\): run chmod 600`));
        return true;
      });
    }
    assert.match(readFileSync(jh.privateKeyPath, 'utf8'), /PRIVATE KEY/, 'the real key is untouched');
  });
});

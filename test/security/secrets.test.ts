// A full run, then a search of everything the run left behind (logs, every call to the fake Slack, every HTTP
// reply, every Redis key including BullMQ's job data) for the secrets: none may appear anywhere.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { blockLines, click, requestAccess, runJobNow, until } from '../support/flow.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { APP_TOKEN, BOT_TOKEN, ENGINEER, OWNER, SIGNING_SECRET, startWorld, type World } from '../support/world.ts';

async function dumpRedis(url: string): Promise<{ keys: number; text: string }> {
  const redis = new Redis(url);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const parts: string[] = [];
    for (const k of keys) {
      const type = await redis.type(k);
      const value =
        type === 'string' ? await redis.get(k)
        : type === 'hash' ? await redis.hgetall(k)
        : type === 'list' ? await redis.lrange(k, 0, -1)
        : type === 'set' ? await redis.smembers(k)
        : type === 'zset' ? await redis.zrange(k, '0', '-1', 'WITHSCORES')
        : type === 'stream' ? await redis.xrange(k, '-', '+')
        : `(${type})`;
      parts.push(`${k} ${JSON.stringify(value)}`);
    }
    return { keys: keys.length, text: parts.join('\n') };
  } finally {
    redis.disconnect();
  }
}

/** Long enough pieces of a secret that finding one means the secret leaked (private keys: each base64 line). */
function needles(secret: string): string[] {
  return secret.includes('PRIVATE KEY') ? secret.split('\n').filter((l) => /^[A-Za-z0-9+/=]{20,}$/.test(l)) : [secret];
}

describe('secrets never leave the broker (end to end)', () => {
  let world: World;
  const replies: string[] = [];
  const say = async (user: string, text: string) => {
    const res = await world.sender.command(user, text);
    replies.push(res.body);
    return res;
  };

  before(async () => {
    world = await startWorld({ duration: '3s' });
  });
  after(async () => {
    await world?.stop();
  });

  it('leaves no token, signing secret or private key in logs, Slack calls, replies or Redis after a full run', async () => {
    const engineerPrivate = readFileSync(world.engineerKey.privateKeyPath, 'utf8');
    const brokerPrivate = readFileSync(world.policy.jumpHosts[0]!.privateKeyPath, 'utf8');

    // A whole grant's life, with the detours that log errors: a refused paste, a failed Slack call, a revoke.
    await say('U0PASTE', `key add ${engineerPrivate}`);
    await say('U0PASTE', `request internal-1 1h ${engineerPrivate.replace(/\n/g, ' ')}`);
    await say(ENGINEER, `key add ${world.engineerKey.publicKey}`);
    // Minutes, so that it is still active at the hop on a loaded machine; its expiry job is run after it.
    const id = await requestAccess(world, ENGINEER, 'request internal-1 10m secrets run');
    world.slack.failNext('chat.update', 'invalid_auth');
    await click(world, id, OWNER);
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    assert.equal(statSync(world.jump.authorizedKeysPath).mode & 0o777, 0o600, 'the managed file is written 0600');
    const hop = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    const id2 = await requestAccess(world, ENGINEER, 'request internal-2 1m revoke me');
    await click(world, id2, OWNER);
    await until('second line', () => blockLines(world).some((l) => l.includes(id2)));
    await say(ENGINEER, `revoke ${id2}`);
    await runJobNow(world, 'revoke', id);
    await until('expired', async () => (await world.broker.requests.get(id))?.state === 'expired', 60_000);
    await until('block empty', () => blockLines(world).length === 0 || undefined);

    const redis = await dumpRedis(world.redisUrl);
    assert.match(redis.text, /bull/, 'BullMQ job data is part of the dump');
    const haystacks: Record<string, string> = {
      logs: world.logs.join(''),
      // the token travels in the Authorization header (SlackCall.token), which is where it belongs
      'Slack calls': JSON.stringify(world.slack.calls.map(({ method, args }) => ({ method, args }))),
      'Slack messages': JSON.stringify(world.slack.messages()),
      'HTTP replies': replies.join('\n'),
      Redis: redis.text,
    };
    const secrets: Record<string, string> = {
      'bot token': BOT_TOKEN,
      'signing secret': SIGNING_SECRET,
      'app token': APP_TOKEN,
      'engineer private key (pasted)': engineerPrivate,
      'broker private key': brokerPrivate,
    };
    // Positive controls: the search finds what is there.
    assert.ok(world.slack.calls.some((c) => c.token === BOT_TOKEN), 'the fake saw the token in the header');
    assert.ok(haystacks.logs!.includes(id) && haystacks.Redis!.includes(id), 'the haystacks hold the run');
    for (const [secret, value] of Object.entries(secrets)) {
      const parts = needles(value);
      assert.ok(parts.length > 0, secret);
      for (const [where, text] of Object.entries(haystacks))
        for (const p of parts) assert.ok(!text.includes(p), `${secret} found in ${where}`);
    }
    const bytes = Object.values(haystacks).reduce((n, t) => n + t.length, 0);
    console.log(`secrets scan: ${Object.keys(secrets).length} secrets, ${world.logs.length} log lines, ${world.slack.calls.length} Slack calls, ${redis.keys} Redis keys, ${bytes} bytes searched`);
  });
});

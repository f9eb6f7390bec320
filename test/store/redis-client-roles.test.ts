// The role clients' failure behaviour against a real redis-server that goes silent (SIGSTOP) or away (kill -9):
// a 'commands' client gives up on its deadline while Redis is still stopped and never sends a command twice
// after a dropped connection; 'commands' and 'producer' refuse at once while the connection is down, and fail a
// command that was in flight when the connection dropped (never leave it pending).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';
import { createRedisClient, parseRedisUrl, type RedisRole } from '../../src/store/redis-connection.ts';
import { until } from '../support/flow.ts';

/** Settles like `p`, or rejects after `ms`: a guard so that a hang fails the test instead of stalling the file. */
function guarded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function ready(client: Redis): Promise<void> {
  return client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', () => resolve()));
}

describe('Redis role clients against a stopped or dead redis-server', () => {
  let server: RedisProcess;
  let admin: Redis;
  const clients: Redis[] = [];
  const client = (role: RedisRole) => {
    const c = createRedisClient(parseRedisUrl(server.url), role, { connectionName: `roles-${role}` }) as Redis;
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  before(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  after(async () => {
    try {
      process.kill(server.pid, 'SIGCONT');
    } catch {
      /* not running */
    }
    for (const c of clients) c.disconnect();
    admin?.disconnect();
    await server?.stop();
  });

  it("'commands': a command to a silent Redis fails on its deadline while Redis is still stopped, and is not sent again after the reconnect", async () => {
    const commands = client('commands');
    await ready(commands);
    await admin.del('counter');
    const oldId = Number(await commands.client('ID'));

    let resumed = false;
    process.kill(server.pid, 'SIGSTOP');
    try {
      // Written to the socket now; Redis reads and runs it when it resumes.
      const incr = commands.incr('counter');
      await assert.rejects(guarded(incr, 60_000, 'the INCR to reject'), /Command timed out/);
      assert.equal(resumed, false, 'rejected while Redis was still stopped');
      // The connection drops (as on a network cut) with the INCR unanswered; the client reconnects.
      const closed = new Promise((resolve) => commands.once('close', resolve));
      commands.stream.destroy();
      await closed;
    } finally {
      resumed = true;
      process.kill(server.pid, 'SIGCONT');
    }
    await guarded(ready(commands), 60_000, 'the reconnect');
    // Redis ran the INCR from the old connection's buffer, then dropped that connection.
    await until('the old connection gone', async () => !String(await admin.client('LIST')).includes(`id=${oldId} `), 30_000);
    // A command resent on reconnect would have gone out before this one, on the same connection.
    assert.equal(await commands.get('counter'), '1', 'the INCR ran exactly once');
  });

  // ioredis (redis/ioredis#2193) keeps a command in flight when the connection drops aside and, without resending,
  // forgets it on the reconnect: its promise never settles. A BullMQ add on the producer did that in the chaos run
  // (Redis restarted mid-add), and the activation follow-up awaiting it held its lease forever.
  for (const role of ['commands', 'producer'] as const) {
    it(`'${role}': a command in flight when the connection drops fails even when the reconnect is quick`, async () => {
      const c = client(role);
      await ready(c);
      const closed = new Promise((resolve) => c.once('close', resolve));
      // On the socket now, its reply never read: the connection drops under it, and Redis is there for the reconnect.
      const get = c.get('k');
      c.stream.destroy();
      await closed;
      await guarded(ready(c), 60_000, 'the reconnect');
      await assert.rejects(guarded(get, 30_000, `the GET in flight on the '${role}' connection to settle`), (err: Error) => {
        assert.doesNotMatch(err.message, /still waiting/, 'failed by the client, not by the guard');
        return true;
      });
      assert.equal(await c.set('k', role), 'OK', 'the connection works again');
    });
  }

  for (const role of ['commands', 'producer'] as const) {
    it(`'${role}': refuses at once while the connection is down (no offline queue) and works again once Redis is back`, async () => {
      const c = client(role);
      await ready(c);
      const down = new Promise((resolve) => c.once('close', resolve));
      await server.kill9();
      await down;
      let back = false;
      try {
        await assert.rejects(guarded(c.set('k', 'v'), 60_000, 'the SET to reject'), /enableOfflineQueue options is false/);
        assert.equal(back, false, 'refused while Redis was down');
      } finally {
        back = true;
        await server.restart();
      }
      await guarded(ready(c), 60_000, 'the reconnect');
      assert.equal(await c.set('k', role), 'OK');
      assert.equal(await admin.get('k'), role);
    });
  }
});

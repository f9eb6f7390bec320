// REDIS_URL names one server, a Sentinel set or a Cluster; a bad value is refused with a message that names
// REDIS_URL and never repeats a password.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { EnvError, readEnv } from '../../src/config/env.ts';
import { createRedisClient, describeRedisTarget, parseRedisUrl, RedisUrlError, type RedisTarget } from '../../src/store/redis-connection.ts';

const required = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sign-1' };

function envError(url: string): string {
  try {
    readEnv({ ...required, REDIS_URL: url });
  } catch (err) {
    assert.ok(err instanceof EnvError);
    return err.message;
  }
  assert.fail(`accepted ${url}`);
}

describe('REDIS_URL', () => {
  it('reads one server as before (redis:// and rediss://), credentials kept out of the description', () => {
    const t = parseRedisUrl('rediss://jit:s%40cret@redis.internal:6380/2');
    assert.deepEqual(t, { kind: 'server', url: 'rediss://jit:s%40cret@redis.internal:6380/2', tls: true, username: 'jit', password: 's@cret' });
    assert.equal(describeRedisTarget(t), 'rediss://redis.internal:6380/2 (with password)');
    assert.equal(describeRedisTarget(parseRedisUrl('redis://127.0.0.1:6379')), 'redis://127.0.0.1:6379');
  });

  it('reads a Sentinel set: sentinels with default port 26379, master name, db, passwords', () => {
    const t = parseRedisUrl('redis+sentinel://:p%2Fw@s1.internal:26380,s2.internal,[::1]:26381/jit-primary?db=3&sentinelPassword=sp');
    assert.deepEqual(t, {
      kind: 'sentinel',
      sentinels: [
        { host: 's1.internal', port: 26380 },
        { host: 's2.internal', port: 26379 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'jit-primary',
      db: 3,
      tls: false,
      waitReplicas: 1,
      waitTimeoutMs: 500,
      password: 'p/w',
      sentinelPassword: 'sp',
    } satisfies RedisTarget);
    assert.equal(describeRedisTarget(t), 'Sentinel master "jit-primary" db 3 via s1.internal:26380,s2.internal:26379,[::1]:26381 (with password)');
    const tls = parseRedisUrl('rediss+sentinel://10.0.0.1/mymaster');
    assert.equal(tls.kind === 'sentinel' && tls.tls && tls.db === 0 && tls.masterName, 'mymaster');
    const wait = parseRedisUrl('redis+sentinel://s1/m?waitReplicas=2&waitTimeout=250');
    assert.deepEqual(wait.kind === 'sentinel' && [wait.waitReplicas, wait.waitTimeoutMs], [2, 250]);
    const noWait = parseRedisUrl('redis+sentinel://s1/m?waitReplicas=0');
    assert.equal(noWait.kind === 'sentinel' && noWait.waitReplicas, 0);
  });

  it('reads a Cluster: seed nodes with default port 6379', () => {
    const t = parseRedisUrl('redis+cluster://user:pw@10.0.0.1:7000,10.0.0.2');
    assert.deepEqual(t, { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 6379 }], tls: false, username: 'user', password: 'pw' });
    assert.equal(describeRedisTarget(t), 'Cluster via 10.0.0.1:7000,10.0.0.2:6379 (with password)');
  });

  it('accepts every form in the environment', () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://:pw@h:6380/1', 'redis+sentinel://a:26379,b:26379/m?db=0', 'rediss+cluster://a:7000']) {
      assert.equal(readEnv({ ...required, REDIS_URL: url }).REDIS_URL, url);
    }
  });

  it('refuses malformed values, naming REDIS_URL and what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['localhost:6379', /must be a redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\/ URL$/],
      ['http://redis:6379', /must be a redis:\/\//],
      ['redis://', /names no host|not a valid URL/],
      ['redis://h:6379/db1', /database number/],
      ['redis+sentinel://s1:26379,s2:26379', /needs the master name/],
      ['redis+sentinel://s1:26379,s2:26379/', /needs the master name/],
      ['redis+sentinel:///m', /names no sentinel/],
      ['redis+sentinel://s1:99999/m', /port out of range in its host/],
      ['redis+sentinel://s1:26379,,s3/m', /malformed host 2 of 3/],
      ['redis+sentinel://s1/m?db=x', /database number/],
      ['redis+sentinel://s1/m?pasword=x', /unknown option "pasword" \(known: db, waitReplicas, waitTimeout, sentinelUsername, sentinelPassword\)/],
      ['redis+sentinel://s1/m?waitReplicas=one', /waitReplicas that is not a whole number/],
      ['redis+sentinel://s1/m?waitTimeout=-5', /waitTimeout that is not a whole number/],
      ['redis+cluster://n1:7000/0', /takes no path/],
      ['redis+cluster://n1:7000?db=1', /unknown option "db"/],
    ];
    for (const [url, expected] of cases) {
      const message = envError(url);
      assert.match(message, /^environment is invalid:\n {2}REDIS_URL: /, url);
      assert.match(message, expected, url);
    }
  });

  it('never repeats a password in an error, even one with unescaped special characters', () => {
    const secrets = ['redis+sentinel://:TOP/SECRET@s1:26379/m', 'redis+sentinel://:TOP@SECRET@s1/m', 'redis+cluster://u:TOPSECRET@n1:x', 'redis://:TOPSECRET@h:6379/x', 'redis+sentinel://:TOPSECRET@s1/m?db=-1', 'redis+sentinel://s1/m?sentinelPassword=TOPSECRET&x=1'];
    for (const url of secrets) {
      const message = envError(url);
      assert.ok(!message.includes('TOP') && !message.includes('SECRET'), `${url} → ${message}`);
    }
    assert.throws(() => parseRedisUrl('ftp://x'), RedisUrlError);
  });

  it('creates clients per role: commands fail after retries, the producer has no offline queue, blocking readers retry forever', () => {
    const clients = [];
    try {
      const sentinel = parseRedisUrl('redis+sentinel://:pw@127.0.0.1:1/mymaster?db=2&sentinelPassword=sp');
      const commands = createRedisClient(sentinel, 'commands', { connectionName: 'jit-test' }) as Redis;
      const producer = createRedisClient(sentinel, 'producer') as Redis;
      const blocking = createRedisClient(sentinel, 'blocking') as Redis;
      clients.push(commands, producer, blocking);
      for (const c of clients) c.on('error', () => undefined);
      assert.ok(commands instanceof Redis);
      assert.equal(commands.options.name, 'mymaster');
      assert.deepEqual(commands.options.sentinels, [{ host: '127.0.0.1', port: 1 }]);
      assert.equal(commands.options.password, 'pw');
      assert.equal(commands.options.sentinelPassword, 'sp');
      assert.equal(commands.options.db, 2);
      assert.equal(commands.options.connectionName, 'jit-test');
      assert.notEqual(commands.options.failoverDetector, true, 'ends the client when a failover lands mid-reconnect');
      assert.equal(commands.options.maxRetriesPerRequest, 2);
      assert.equal(commands.options.commandTimeout, 2000, 'every command has a deadline (redis-client-roles.test.ts shows it)');
      assert.equal(commands.options.autoResendUnfulfilledCommands, false, 'a command in flight is never resent');
      assert.equal(commands.options.enableOfflineQueue, false);
      assert.equal(commands.options.retryStrategy?.(100), 500, 'reconnects at least every 500 ms, to follow a failover quickly');
      assert.equal(producer.options.enableOfflineQueue, false);
      assert.equal(blocking.options.maxRetriesPerRequest, null);

      const cluster = createRedisClient(parseRedisUrl('redis+cluster://:pw@127.0.0.1:1'), 'producer') as Cluster;
      cluster.on('error', () => undefined);
      clients.push(cluster);
      assert.ok(cluster instanceof Cluster);
      assert.equal(cluster.options.enableOfflineQueue, false);
      assert.equal(cluster.options.redisOptions?.password, 'pw');
      assert.equal(cluster.options.redisOptions?.maxRetriesPerRequest, 2);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});

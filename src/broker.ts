// Composition root: builds every part from the environment and the policy, starts them, and stops them in order.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AuditForwarder } from './audit/audit-forwarder.ts';
import type { Env } from './config/env.ts';
import { PolicyError, type Policy } from './config/policy.ts';
import { checkPrivateKeyFile } from './jumphost/private-key-file.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import type { IdGenerator } from './domain/ids.ts';
import { JumpHostConnections } from './jumphost/jump-host-connections.ts';
import { JumpHostSync } from './jumphost/jump-host-sync.ts';
import { withHostKeyAlarm } from './jumphost/host-key-alarm.ts';
import { AccessJobs } from './scheduling/access-jobs.ts';
import { AccessService } from './service/access-service.ts';
import { createBoltApp } from './slack/bolt-app.ts';
import { SlackOwnerDirectory } from './slack/owner-directory.ts';
import { SlackNotifier } from './slack/slack-notifier.ts';
import { createWebClient } from './slack/web-client.ts';
import { KeyStore } from './store/key-store.ts';
import { RateLimiter } from './store/rate-limit.ts';
import { asCommandClient, createRedisClient, describeRedisTarget, parseRedisUrl, type RedisRole } from './store/redis-connection.ts';
import { RequestStore } from './store/request-store.ts';

export interface BrokerOptions {
  env: Env;
  policy: Policy;
  logger: Logger;
  clock?: Clock;
  newId?: IdGenerator;
  /** Redis key prefix (tests run several brokers on one Redis) */
  redisPrefix?: string;
  /** bind address of the HTTP receiver (default: all interfaces) */
  host?: string;
}

export interface Broker {
  /** the HTTP port actually listened on (HTTP mode) */
  port?: number;
  service: AccessService;
  sync: JumpHostSync;
  requests: RequestStore;
  keys: KeyStore;
  stop(): Promise<void>;
}

export async function startBroker(o: BrokerOptions): Promise<Broker> {
  const { env, policy, logger } = o;
  const clock = o.clock ?? systemClock;
  for (const jh of policy.jumpHosts) {
    const problem = checkPrivateKeyFile(jh.privateKeyPath);
    if (problem) throw new PolicyError(`jumpHosts[${jh.name}].privateKeyPath: ${problem}`);
  }
  // One server, a Sentinel set or a Cluster; each role's client fails fast or waits as its work needs.
  const redisTarget = parseRedisUrl(env.REDIS_URL);
  const connect = (role: RedisRole) =>
    asCommandClient(
      createRedisClient(redisTarget, role, {
        onUnreplicated: (acked, wanted) => logger.warn({ acked, wanted }, 'Redis replicas did not acknowledge a state change in time: a failover now could lose it'),
      }),
    );
  const redis = connect('commands');
  const producer = connect('producer');
  const auditRedis = connect('blocking');
  const workerConnections: Redis[] = [];
  await Promise.all([redis.ping(), ready(producer)]);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  producer.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  auditRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));

  await warnAboutRedisSettings(redis, logger);

  const requests = new RequestStore(redis, o.redisPrefix);
  const keys = new KeyStore(redis, o.redisPrefix);
  const connections = new JumpHostConnections({ logger: logger.child({ component: 'jumphost' }) });
  const updater = withHostKeyAlarm(connections, { audit: (e) => requests.appendAudit(e), logger: logger.child({ component: 'jumphost' }), clock });
  const sync = new JumpHostSync({ policy, requests, keys, updater, clock, logger: logger.child({ component: 'sync' }) });
  const jobs = new AccessJobs({
    producer,
    workerConnection: () => {
      const c = connect('blocking');
      c.on('error', () => undefined);
      workerConnections.push(c);
      return c;
    },
    logger: logger.child({ component: 'jobs' }),
    prefix: o.redisPrefix ? `${o.redisPrefix}:bull` : undefined,
  });

  const client = createWebClient(env.SLACK_BOT_TOKEN, env.SLACK_API_URL);
  const notifier = new SlackNotifier({ client, auditChannel: policy.auditChannel, approvalChannel: policy.approvalChannel, logger });
  const owners = new SlackOwnerDirectory({ client, logger });
  const limiter = new RateLimiter(redis, o.redisPrefix);
  const service = new AccessService({ policy, requests, keys, sync, jobs, notifier, owners, clock, logger: logger.child({ component: 'access' }), newId: o.newId, limiter });
  const app = createBoltApp({
    botToken: env.SLACK_BOT_TOKEN,
    signingSecret: env.SLACK_SIGNING_SECRET,
    appToken: env.SLACK_APP_TOKEN,
    apiUrl: env.SLACK_API_URL,
    teamId: policy.teamId,
    maxBodyBytes: policy.limits.maxBodyBytes,
    service,
    logger,
    health: async () => (await redis.ping()) === 'PONG',
  });

  jobs.startWorker({
    revoke: (id) => service.expire(id),
    timeout: (id) => service.timeOut(id),
    expiryWarning: (id) => service.expiryWarning(id),
  });
  const audit = new AuditForwarder({
    redis: auditRedis,
    stream: requests.keys.auditStream,
    consumer: `${hostname()}-${process.pid}`,
    poster: notifier,
    logger: logger.child({ component: 'audit' }),
  });
  await audit.start();

  let port: number | undefined;
  if (env.SLACK_APP_TOKEN) {
    await app.start();
  } else {
    const server = (await app.start(o.host ? ({ port: env.PORT, host: o.host } as never) : env.PORT)) as unknown as import('node:http').Server;
    const addr = server.address();
    port = typeof addr === 'object' && addr ? addr.port : env.PORT;
  }
  // Bring every jump server in line with the store now: repairs whatever happened while we were down.
  sync.syncAll().catch((err: unknown) => logger.warn({ err }, 'initial sync failed'));
  logger.info({ port, redis: describeRedisTarget(redisTarget), socketMode: Boolean(env.SLACK_APP_TOKEN), jumpHosts: policy.jumpHosts.length, hosts: policy.hosts.length }, 'jit-jump started');

  return {
    port,
    service,
    sync,
    requests,
    keys,
    async stop() {
      await app.stop().catch(() => undefined);
      await jobs.close().catch(() => undefined);
      await sync.stop();
      await audit.stop().catch(() => undefined);
      await connections.close();
      for (const c of [redis, producer, ...workerConnections]) c.disconnect();
      logger.info('jit-jump stopped');
    },
  };
}


/** Grants and jobs live in Redis: without AOF a restart forgets them, and eviction deletes them silently. */
async function warnAboutRedisSettings(redis: Redis, logger: Logger): Promise<void> {
  try {
    const [, aof] = (await redis.config('GET', 'appendonly')) as string[];
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (aof !== 'yes') logger.warn('Redis has appendonly off: a Redis restart loses requests, grants and scheduled revocations (set appendonly yes)');
    if (policy !== 'noeviction') logger.warn({ policy }, 'Redis maxmemory-policy is not noeviction: Redis may silently delete grants and jobs');
  } catch (err) {
    logger.debug({ err }, 'could not read Redis settings (CONFIG may be disabled)');
  }
}

function ready(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('Redis connection ended before it was ready')));
  });
}

// Composition root: builds every part from the environment and the policy, starts them, and stops them in order.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AuditForwarder } from './audit/audit-forwarder.ts';
import { WorkPace } from './service/work-pace.ts';
import type { Env } from './config/env.ts';
import { PolicyError, type JumpHostConfig, type Policy } from './config/policy.ts';
import { announceReloads, PolicySource } from './config/policy-source.ts';
import { brokerKeyFingerprint, checkPrivateKeyFile } from './jumphost/private-key-file.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import type { IdGenerator } from './domain/ids.ts';
import { JumpHostConnections } from './jumphost/jump-host-connections.ts';
import { JumpHostSync } from './jumphost/jump-host-sync.ts';
import { ConnectionReports } from './jumphost/connection-reports.ts';
import { ConnectionWatch } from './jumphost/connection-watch.ts';
import { ConnectionStore } from './store/connection-store.ts';
import { withHostKeyAlarm } from './jumphost/host-key-alarm.ts';
import { AccessJobs } from './scheduling/access-jobs.ts';
import { ReconcileJobs } from './scheduling/reconcile-jobs.ts';
import { DigestJobs } from './scheduling/digest-jobs.ts';
import { DailyDigest } from './audit/daily-digest.ts';
import { policyStandingAccess } from './audit/standing-report.ts';
import { DigestStore } from './store/digest-store.ts';
import { Reconciler } from './scheduling/reconciler.ts';
import { AccessService } from './service/access-service.ts';
import { AuditLog } from './store/audit-log.ts';
import type { StandingKeys } from './service/ports.ts';
import { createBoltApp } from './slack/bolt-app.ts';
import { HomeTab } from './slack/home-tab.ts';
import { SlackOwnerDirectory } from './slack/owner-directory.ts';
import { SlackNotifier } from './slack/slack-notifier.ts';
import { createWebClient } from './slack/web-client.ts';
import { judgeRecordedJumpHosts } from './domain/retirement.ts';
import { JumpHostRegistry } from './store/jump-host-registry.ts';
import { JumpHostState } from './store/jump-host-state.ts';
import { KeyStore } from './store/key-store.ts';
import { RateLimiter } from './store/rate-limit.ts';
import { asCommandClient, createRedisClient, describeRedisTarget, parseRedisUrl, type RedisRole } from './store/redis-connection.ts';
import { auditStreamKeys, queuePrefixFor } from './store/redis-keys.ts';
import { AuditRetention } from './audit/audit-retention.ts';
import { StandingKeyStore } from './store/standing-key-store.ts';
import { SyncLocks } from './store/sync-lock.ts';
import { RequestStore } from './store/request-store.ts';
import { brokerMetrics, healthProbes, repairsOf } from './broker-health.ts';
import { startHealthServer, type HealthProbes } from './observability/health.ts';
import type { BrokerMetrics, Observer } from './observability/metrics.ts';
import { SlackReachability } from './slack/slack-reachability.ts';

export interface BrokerOptions {
  env: Env;
  policy: Policy;
  /** the file `policy` was read from: read again on SIGHUP (Broker.policy.reload) and whenever it changes */
  policyPath?: string;
  logger: Logger;
  clock?: Clock;
  newId?: IdGenerator;
  /** Redis key prefix (tests run several brokers on one Redis) */
  redisPrefix?: string;
  /** bind address of the HTTP receiver (default: all interfaces) */
  host?: string;
  /** Socket Mode: serve the health endpoints here instead of on HEALTH_PORT (0: any free port; tests) */
  healthPort?: number;
  /** timings that tests shorten; production uses the defaults */
  tuning?: BrokerTuning;
}

export interface BrokerTuning {
  /** lease of an activation follow-up (renewed while it runs); the reconciler takes over a follow-up owed
   *  this long whose holder died (default 30 s) */
  activationLeaseMs?: number;
  /** audit entries a dead replica read but never posted are taken over after this idle time (default 30 s) */
  auditClaimIdleMs?: number;
  /** lease of the per-jump-server sync lock, renewed while held (default 6 s) */
  syncLockLeaseMs?: number;
  /** sync attempts and the first backoff step (defaults 4 and 250 ms) */
  syncAttempts?: number;
  syncRetryBaseMs?: number;
  /** how long stop() waits in all for Slack requests, follow-up work, jobs and syncs in flight before handing
   *  running jobs back to the queue (default 10 s; the forced exit of `jit-jump start` comes at 15 s) */
  stopTimeoutMs?: number;
  /** a slash command not answered this long after it arrived is acked with "working", answered later (default 2 s) */
  slackAckDeadlineMs?: number;
  /** how often each jump server's sshd log is read (sshdLog; default 5 s) */
  connectionPollMs?: number;
  /** after a sync, the log is read once more this much later for a login that raced a line's removal (default 2 s) */
  sessionRescanMs?: number;
}

export interface Broker {
  /** the HTTP port actually listened on (HTTP mode) */
  port?: number;
  /** Socket Mode: the port of /healthz, /readyz and /metrics (none when HEALTH_PORT is 0) */
  healthPort?: number;
  service: AccessService;
  sync: JumpHostSync;
  requests: RequestStore;
  keys: KeyStore;
  reconciler: Reconciler;
  /** who connected, and ending live sessions (jump servers with sshdLog) */
  connectionWatch: ConnectionWatch;
  /** the running policy; `reload('SIGHUP')` reads the policy file again */
  policy: PolicySource;
  stop(): Promise<void>;
}

export async function startBroker(o: BrokerOptions): Promise<Broker> {
  const { env, policy, logger } = o;
  const clock = o.clock ?? systemClock;
  const broker = readableBrokerKeys(policy);
  const t = o.tuning ?? {};
  const live = new PolicySource(policy, { path: o.policyPath });
  const replicaId = `${hostname()}-${process.pid}`;
  // Slack first: a token Slack refuses stops the start here, before anything else is started.
  const slack = new SlackReachability(createWebClient(env.SLACK_BOT_TOKEN, env.SLACK_API_URL, { logger }), logger.child({ component: 'slack' }));
  await slack.start();
  const conn = await connectCheckedRedis(o).catch((err: unknown) => {
    slack.stop();
    throw err;
  });

  const metrics = brokerMetrics({ redis: conn.redis, requests: new RequestStore(conn.redis, o.redisPrefix), policy: live.view, auditStream: auditStreamKeys(o.redisPrefix).stream, clock });
  const { requests, keys, connections, sync, registry, standing, watch, reports } = createSyncParts({ redis: conn.redis, policy: live.view, clock, logger, redisPrefix: o.redisPrefix, tuning: t, observer: metrics });
  const bullPrefix = queuePrefixFor(o.redisPrefix);
  const jobs = new AccessJobs({ producer: conn.producer, workerConnection: conn.workerConnection, logger: logger.child({ component: 'jobs' }), prefix: bullPrefix });
  const client = createWebClient(env.SLACK_BOT_TOKEN, env.SLACK_API_URL, { logger, failed: (method, error) => metrics.slackApiError(method, error) });
  const notifier = liveNotifier(client, live.view, logger);
  const { service, reconciler, home } = createAccessFlow(o, { policy: live.view, redis: conn.redis, requests, keys, standingKeys: standingKeyLookup(live.view, broker.fingerprints, standing), sync, registry, jobs, notifier, client, clock, limits: new RateLimiter(conn.redis, o.redisPrefix), usage: reports });
  const reconcileJobs = new ReconcileJobs({ producer: conn.producer, workerConnection: conn.workerConnection, logger: logger.child({ component: 'reconcile' }), everyMs: policy.reconcileInterval, prefix: bullPrefix });
  const inFlight = new Set<Promise<void>>();
  const health = healthProbes({ redis: conn.redis, requests, policy: live.view, workers: [jobs, reconcileJobs], slack, metrics, startedAt: clock.now(), now: () => clock.now() });
  const app = createBoltApp({
    botToken: env.SLACK_BOT_TOKEN,
    signingSecret: env.SLACK_SIGNING_SECRET,
    appToken: env.SLACK_APP_TOKEN,
    apiUrl: env.SLACK_API_URL,
    // read at each request: a reload that changes it applies at once
    get teamId() { return live.view.teamId; },
    maxBodyBytes: policy.limits.maxBodyBytes,
    ackDeadlineMs: t.slackAckDeadlineMs,
    service, home, // home: the notifier's publisher of Home tabs too (one person's publishes run in order)
    logger,
    health,
    onWork: (work) => {
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    },
  });

  const digestJobs = await startDigest({ ...o, live, conn, notifier, connections, brokerKeys: new Set(broker.fingerprints.values()), clock, prefix: bullPrefix });
  const audit = await startWorkers({ jobs, reconcileJobs, service, reconciler, notifier, auditRedis: conn.auditRedis, redisPrefix: o.redisPrefix, replicaId, logger, tuning: t, metrics });
  const { port, server, healthServer } = await startApp(app, env, health, o.host, o.healthPort);
  // Bring every jump server in line with the store now: repairs whatever happened while we were down. A
  // retired jump server's grants end now too, not at the first scheduled reconcile.
  (policy.jumpHosts.some((j) => j.retired) ? reconciler.run() : sync.syncAll()).catch((err: unknown) => logger.warn({ err }, 'initial sync failed'));
  const healthPort = (healthServer?.address() as import('node:net').AddressInfo | null)?.port;
  logger.info({ port, healthPort, redis: describeRedisTarget(conn.target), socketMode: Boolean(env.SLACK_APP_TOKEN), jumpHosts: policy.jumpHosts.length, hosts: policy.hosts.length }, 'jit-jump started');

  watch.start();
  const stopReloading = reloadWhileRunning(live, o.policyPath, sync, { audit: (e) => requests.appendAudit(e), now: () => clock.now(), logger });
  const stop = () => stopInOrder({ stopReloading: () => (stopReloading(), slack.stop(), healthServer?.close()), app, server, jobs, reconcileJobs, digestJobs, inFlight, sync, watch, audit, connections, conn, logger, budgetMs: t.stopTimeoutMs ?? 10_000 });
  return { port, healthPort, service, sync, requests, keys, reconciler, connectionWatch: watch, policy: live, stop };
}

/** Redis connected, its settings warned about, and the jump servers it recorded checked against the policy. */
async function connectCheckedRedis(o: BrokerOptions): Promise<Awaited<ReturnType<typeof connectRedis>>> {
  const conn = await connectRedis(o.env, o.logger);
  await warnAboutRedisSettings(conn.redis, o.logger);
  try {
    await checkRecordedJumpHosts(new JumpHostRegistry(conn.redis, o.redisPrefix), o.policy, o.logger);
  } catch (err) {
    for (const c of [conn.redis, conn.producer, conn.auditRedis]) c.disconnect();
    throw err;
  }
  return conn;
}

/**
 * The daily audit digest: its schedule (re-upserted when a reload changes audit.digest) and its run, which reads
 * the policy, the store and every jump server's standing keys (over the broker's own SSH connections).
 */
async function startDigest(p: {
  live: PolicySource;
  conn: Awaited<ReturnType<typeof connectRedis>>;
  notifier: SlackNotifier;
  connections: JumpHostConnections;
  brokerKeys: ReadonlySet<string>;
  clock: Clock;
  logger: Logger;
  redisPrefix?: string;
  prefix?: string;
}): Promise<DigestJobs> {
  const logger = p.logger.child({ component: 'digest' });
  const digest = new DailyDigest({
    store: new DigestStore(p.conn.redis, p.redisPrefix),
    poster: p.notifier,
    policy: p.live.view,
    standing: (policy) => policyStandingAccess(policy, p.brokerKeys, (jh, path) => p.connections.readRemoteFile(jh, path)),
    clock: p.clock,
    logger,
  });
  const jobs = new DigestJobs({ producer: p.conn.producer, workerConnection: p.conn.workerConnection, logger, prefix: p.prefix });
  await jobs.start(p.live.view.audit.digest, (firedAt) => digest.run(firedAt));
  p.live.onReload((r) => {
    if (r.ok && r.changed) jobs.schedule(p.live.view.audit.digest); // the same time and zone: nothing to do
  });
  return jobs;
}

/** The access service over its ports, the reconciler that finishes what it leaves behind, and the Home tabs. */
/** Follow-ups whose jobs and messages run at once; more wait their turn (their key lines do not wait). */
const FOLLOW_UPS_AT_ONCE = 8;

function createAccessFlow(
  o: BrokerOptions,
  p: { policy: Policy; redis: Redis; requests: RequestStore; keys: KeyStore; standingKeys: StandingKeys; sync: JumpHostSync; registry: JumpHostRegistry; jobs: AccessJobs; notifier: SlackNotifier; client: ReturnType<typeof createWebClient>; clock: Clock; limits: RateLimiter; usage: ConnectionReports },
) {
  const { logger } = o;
  const { policy } = p;
  const leaseMs = o.tuning?.activationLeaseMs;
  const service = new AccessService({
    policy,
    requests: p.requests,
    keys: p.keys,
    standingKeys: p.standingKeys,
    sync: p.sync,
    jobs: p.jobs,
    notifier: p.notifier,
    owners: new SlackOwnerDirectory({ client: p.client, logger }),
    clock: p.clock,
    logger: logger.child({ component: 'access' }),
    newId: o.newId,
    limits: p.limits,
    usage: p.usage,
    auditTrail: new AuditLog(p.redis, o.redisPrefix),
    activationLeaseMs: leaseMs,
    pace: new WorkPace(FOLLOW_UPS_AT_ONCE).run,
  });
  const reconciler = new Reconciler({
    policy,
    requests: p.requests,
    sync: p.sync,
    registry: p.registry,
    actions: service,
    clock: p.clock,
    logger: logger.child({ component: 'reconcile' }),
    // the replica that won the approval normally finishes within its lease; after that it is presumed dead
    activationGraceMs: leaseMs ?? 30_000,
    audit: new AuditRetention({ redis: p.redis, redisPrefix: o.redisPrefix, retentionMs: () => policy.audit.retention, clock: p.clock, logger: logger.child({ component: 'audit' }) }),
  });
  // One publisher of Home tabs for the notifier and the app: one person's publishes run in order.
  const home = new HomeTab({ client: p.client, home: (user) => service.home(user), logger: logger.child({ component: 'slack' }) });
  p.notifier.showHomesWith(home);
  return { service, reconciler, home };
}

/**
 * Reads the policy again on a change of its file (SIGHUP comes through Broker.policy.reload), and tells the log
 * and the audit channel. An applied change syncs every jump server (a few at a time): a removed host's lines leave the
 * block, a moved host's lines follow its new address. Returns the stop.
 */
function reloadWhileRunning(source: PolicySource, path: string | undefined, sync: JumpHostSync, d: Parameters<typeof announceReloads>[1] & { logger: Logger }): () => void {
  const unannounce = announceReloads(source, d);
  const unsync = source.onReload((r) => {
    if (r.ok && r.changed) sync.syncAll().catch((err: unknown) => d.logger.warn({ err }, 'sync after a policy reload failed'));
  });
  const unwatch = path ? source.watchFile((err) => d.logger.warn({ err, path }, 'cannot watch the policy file: reload with SIGHUP')) : () => undefined;
  return () => {
    unwatch();
    unannounce();
    unsync();
  };
}

/** The Slack notifier; it reads the channels and the policy at each post, so a reload applies at once. */
function liveNotifier(client: ReturnType<typeof createWebClient>, policy: Policy, logger: Logger): SlackNotifier {
  return new SlackNotifier({
    client,
    get auditChannel() {
      return policy.auditChannel;
    },
    get approvalChannel() {
      return policy.approvalChannel;
    },
    logger,
    policy,
  });
}

/** BullMQ workers for the access jobs and the reconcile schedule, and the audit forwarder. */
async function startWorkers(p: {
  jobs: AccessJobs;
  reconcileJobs: ReconcileJobs;
  service: AccessService;
  reconciler: Reconciler;
  notifier: SlackNotifier;
  auditRedis: Redis;
  redisPrefix: string | undefined;
  replicaId: string;
  logger: Logger;
  tuning: BrokerTuning;
  metrics: BrokerMetrics;
}): Promise<AuditForwarder> {
  const { service } = p;
  p.jobs.startWorker({
    revoke: (id, grantEnd) => service.expire(id, grantEnd),
    timeout: (id) => service.timeOut(id),
    expiryWarning: (id, grantEnd) => service.expiryWarning(id, grantEnd),
  });
  const audit = new AuditForwarder({
    redis: p.auditRedis,
    ...auditStreamKeys(p.redisPrefix),
    consumer: p.replicaId,
    poster: p.notifier,
    logger: p.logger.child({ component: 'audit' }),
    claimIdleMs: p.tuning.auditClaimIdleMs,
    observe: (e) => p.metrics.auditEvent(e.type),
  });
  await audit.start();
  await p.reconcileJobs.start(async () => p.metrics.reconciled(repairsOf(await p.reconciler.run())));
  return audit;
}

/**
 * One server, a Sentinel set or a Cluster (REDIS_URL). Each role's client fails fast or waits as its work
 * needs: commands fail fast while Redis is away (the user is told to try again at once instead of Slack timing
 * out) and are never resent after a dropped connection; blocking readers and BullMQ workers wait.
 */
async function connectRedis(env: Env, logger: Logger) {
  const target = parseRedisUrl(env.REDIS_URL);
  const connect = (role: RedisRole) =>
    asCommandClient(
      createRedisClient(target, role, {
        onUnreplicated: (acked, wanted) => logger.warn({ acked, wanted }, 'Redis replicas did not acknowledge a state change in time: a failover now could lose it'),
      }),
    );
  const redis = connect('commands');
  const producer = connect('producer');
  const auditRedis = connect('blocking');
  const workerConnections: Redis[] = [];
  const workerConnection = () => {
    const c = connect('blocking');
    c.on('error', () => undefined);
    workerConnections.push(c);
    return c;
  };
  logRedisOutages([redis, producer, auditRedis], logger, describeRedisTarget(target));
  await Promise.all([ready(redis), ready(producer)]);
  return { target, redis, producer, auditRedis, workerConnection, workerConnections };
}

/**
 * One line when Redis goes away (what is retried and what to check), one when it answers again: not a line per
 * failed reconnect of every connection (a start without Redis printed 150 lines in 25 s).
 */
function logRedisOutages(clients: Redis[], logger: Logger, target: string): void {
  let down = false;
  for (const c of clients) {
    c.on('error', (err: Error) => {
      if (down) return;
      down = true;
      logger.warn({ err: err.message, redis: target }, `Redis unreachable at ${target} (${err.message}): reconnecting until it answers, requests get "try again" meanwhile. Is redis-server running, and is REDIS_URL right?`);
    });
    c.on('ready', () => {
      if (!down) return;
      down = false;
      logger.info({ redis: target }, 'Redis answers again');
    });
  }
}

/** Starts Bolt (Socket Mode, or HTTP on env.PORT); the HTTP server and the port actually listened on. */
/** In Socket Mode the health endpoints get a server of their own on HEALTH_PORT (0: none). */
async function startApp(app: ReturnType<typeof createBoltApp>, env: Env, health: HealthProbes, host?: string, healthPort = env.HEALTH_PORT || undefined): Promise<{ port?: number; server?: import('node:http').Server; healthServer?: import('node:http').Server }> {
  if (env.SLACK_APP_TOKEN) {
    await app.start();
    return healthPort === undefined ? {} : { healthServer: await startHealthServer(health, healthPort, host) };
  }
  const server = (await app.start(host ? ({ port: env.PORT, host } as never) : env.PORT)) as unknown as import('node:http').Server;
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : env.PORT };
}

async function stopInOrder(p: {
  stopReloading: () => void;
  app: ReturnType<typeof createBoltApp>;
  server?: import('node:http').Server;
  jobs: AccessJobs;
  reconcileJobs: ReconcileJobs;
  digestJobs: DigestJobs;
  inFlight: Set<Promise<void>>;
  sync: JumpHostSync;
  watch: ConnectionWatch;
  audit: AuditForwarder;
  connections: JumpHostConnections;
  conn: Awaited<ReturnType<typeof connectRedis>>;
  logger: Logger;
  budgetMs: number;
}): Promise<void> {
  const { jobs, reconcileJobs, digestJobs, sync, logger, budgetMs } = p;
  // One budget for the whole drain, so that stop (and the process) ends in bounded time.
  const deadline = Date.now() + budgetMs;
  const left = () => Math.max(0, deadline - Date.now());
  p.stopReloading();
  // 1. Take no new work: the HTTP port closes (a load balancer sends requests elsewhere; requests already
  //    received are answered), workers fetch no more jobs.
  const httpClosed = p.app.stop().catch(() => undefined);
  const workersClosed = Promise.all([jobs.close(), reconcileJobs.close(), digestJobs.close()]).catch(() => undefined);
  // 2. Finish what is in flight (Slack requests and their follow-up work, jobs, syncs) within the budget.
  //    A job still running then is handed back: moved back to the queue, another replica runs it at once
  //    (handlers are idempotent); a follow-up still owed is finished by the reconciler.
  const drained = Promise.all([httpClosed, workersClosed, settled(p.inFlight)]).then(() => Promise.all([sync.stop(), p.watch.stop()]));
  if (!(await withinMs(left(), drained))) {
    void sync.stop(); // no more retries or expiry timers
    void p.watch.stop();
    p.server?.closeAllConnections();
    const handedBack: string[] = [];
    // Bounded as well: a silent Redis must not hold the exit. The workers close their own connections once
    // nothing of theirs is running.
    await withinMs(CLOSE_MS, (async () => {
      handedBack.push(...(await jobs.handBack()));
      handedBack.push(...(await reconcileJobs.handBack()));
      handedBack.push(...(await digestJobs.handBack()));
      await workersClosed;
    })());
    logger.warn({ deadlineMs: budgetMs, handedBack }, 'in-flight work did not finish in time: handed back to the other replicas');
  }
  // 3. Close connections, side by side so that the forced exit (15 s) never comes first: SSH (a disconnect
  //    message; a connect still pending to a hung jump server would wait out its own 5 s deadline, so it is
  //    left behind after CLOSE_MS) and Redis (QUIT; dropped if Redis does not answer in time).
  const { redis, producer, auditRedis, workerConnections } = p.conn;
  const auditStopped = withinMs(CLOSE_MS, p.audit.stop()).then((ok) => ok || auditRedis.disconnect());
  await Promise.all([auditStopped, withinMs(CLOSE_MS, p.connections.close()), ...[redis, producer, ...workerConnections].map(quitOrDrop)]);
  logger.info('jit-jump stopped');
}

/** What the parts around the jump servers are built from. */
interface PartsBase {
  redis: Redis;
  policy: Policy;
  clock: Clock;
  logger: Logger;
  redisPrefix?: string;
  tuning?: BrokerTuning;
}

/** The store and the one path that changes jump servers, as the broker and `reconcile --dry-run` both build them. */
export function createSyncParts(o: PartsBase & {
  /** alert the audit channel on a host key mismatch (not in a dry run, which writes nothing) */
  hostKeyAlarm?: boolean;
  /** fault injection for tests: runs between the temp file's write and the final check + rename */
  beforeRename?: (jh: JumpHostConfig) => Promise<void>;
  /** metrics of syncs and of when lines arrive and leave */
  observer?: Observer;
}) {
  const { redis, policy, clock, logger } = o;
  const t = o.tuning ?? {};
  const requests = new RequestStore(redis, o.redisPrefix);
  const keys = new KeyStore(redis, o.redisPrefix);
  const connections = new JumpHostConnections({ logger: logger.child({ component: 'jumphost' }), beforeRename: o.beforeRename });
  const state = new JumpHostState(redis, o.redisPrefix);
  const registry = new JumpHostRegistry(redis, o.redisPrefix);
  const standing = new StandingKeyStore(redis, o.redisPrefix);
  const updater =
    o.hostKeyAlarm === false
      ? connections
      : withHostKeyAlarm(connections, {
          audit: (e) => requests.appendAudit(e),
          logger: logger.child({ component: 'jumphost' }),
          clock,
          claim: (jumpHost, presented, quietMs) => state.claimHostKeyAlert(jumpHost, presented, quietMs),
        });
  const brokerKeys = new Set(brokerKeyFingerprints(policy).fingerprints.values());
  const connectionStore = new ConnectionStore(redis, o.redisPrefix);
  const watch = createConnectionWatch({ ...o, access: connections, store: connectionStore, requests, standing, brokerKeys });
  const sync = new JumpHostSync({
    policy,
    requests,
    state,
    registry,
    standing,
    brokerKeys,
    sessions: {
      // Only where the log is read: elsewhere nothing uses it, and activation saves the round trip.
      beforeWrite: async (jumpHost, grants) => {
        if (policy.jumpHosts.find((j) => j.name === jumpHost)?.sshdLog) await connectionStore.noteRendered(jumpHost, grants);
      },
      synced: (jumpHost) => watch.kick(jumpHost),
    },
    // The lease must outlive one render + write; it is renewed while held, so only a dead holder lets it run out.
    lock: new SyncLocks(redis, { leaseMs: t.syncLockLeaseMs ?? 6000, waitMs: 30_000, prefix: o.redisPrefix }),
    updater,
    clock,
    logger: logger.child({ component: 'sync' }),
    attempts: t.syncAttempts,
    retryBaseMs: t.syncRetryBaseMs,
    observer: o.observer,
  });
  const reports = new ConnectionReports({ policy, store: connectionStore });
  return { requests, keys, connections, sync, registry, standing, watch, reports };
}

/** Who connected and ending live sessions, for the jump servers with an sshdLog (started by startBroker). */
function createConnectionWatch(o: PartsBase & {
  access: JumpHostConnections;
  store: ConnectionStore;
  requests: RequestStore;
  standing: StandingKeyStore;
  brokerKeys: ReadonlySet<string>;
}): ConnectionWatch {
  return new ConnectionWatch({
    policy: o.policy,
    access: o.access,
    store: o.store,
    requests: o.requests,
    standing: o.standing,
    // Held no longer than two minutes: a pass stuck on a silent server must not stop every other replica's.
    locks: new SyncLocks(o.redis, { leaseMs: 10_000, waitMs: 30_000, maxHoldMs: 120_000, prefix: o.redisPrefix, purpose: 'sshd-log' }),
    brokerFingerprints: o.brokerKeys,
    clock: o.clock,
    logger: o.logger.child({ component: 'connections' }),
    pollMs: o.tuning?.connectionPollMs ?? 5000,
    rescanMs: o.tuning?.sessionRescanMs ?? 2000,
  });
}

/**
 * A jump server the broker wrote to that left the policy, or whose address, port, user or authorizedKeysPath
 * changed, while it still holds lines or grants: the broker would never visit it again and its lines would stay
 * forever, so the start stops, naming it and the way out. One that holds nothing is forgotten.
 */
export async function checkRecordedJumpHosts(registry: JumpHostRegistry, policy: Policy, logger: Logger): Promise<void> {
  const verdicts = judgeRecordedJumpHosts(policy, await registry.recorded());
  if (verdicts.stop.length) throw new PolicyError(`the policy would abandon jump servers that still hold access:\n${verdicts.stop.map((m) => `  ${m}`).join('\n')}`);
  for (const f of verdicts.forget) if (await registry.forget(f.name)) logger.info({ jumpHost: f.name, why: f.why }, `forgot jump server ${f.name}: ${f.why}`);
}

/** `key add` refuses what this finds: a broker key (read at start), or a key the last sync saw outside the block. */
function standingKeyLookup(policy: Policy, brokerKeys: ReadonlyMap<string, string>, standing: StandingKeyStore): StandingKeys {
  return {
    async find(fingerprint) {
      for (const [jumpHost, fp] of brokerKeys) if (fp === fingerprint) return { kind: 'broker-key', jumpHost };
      const [jumpHost] = await standing.whereStanding(fingerprint, policy.jumpHosts.map((j) => j.name));
      return jumpHost === undefined ? undefined : { kind: 'outside-block', jumpHost };
    },
  };
}

/** The broker's keys, each readable and safe (else the start stops naming the field); their fingerprints are
 *  never registered by a person, never rendered. */
function readableBrokerKeys(policy: Policy): ReturnType<typeof brokerKeyFingerprints> {
  for (const jh of policy.jumpHosts) {
    const problem = checkPrivateKeyFile(jh.privateKeyPath);
    if (problem) throw new PolicyError(`jumpHosts[${jh.name}].privateKeyPath: ${problem}`);
  }
  const broker = brokerKeyFingerprints(policy);
  if (broker.problems.length) throw new PolicyError(broker.problems.join('\n'));
  return broker;
}

/** Each jump server's broker key fingerprint (jump server → "SHA256:…"), and the fields that cannot be read. */
export function brokerKeyFingerprints(policy: Policy): { fingerprints: Map<string, string>; problems: string[] } {
  const fingerprints = new Map<string, string>();
  const problems: string[] = [];
  for (const jh of policy.jumpHosts) {
    const r = brokerKeyFingerprint(jh.privateKeyPath);
    if ('fingerprint' in r) fingerprints.set(jh.name, r.fingerprint);
    else problems.push(`jumpHosts[${jh.name}].privateKeyPath: ${r.problem}`);
  }
  return { fingerprints, problems };
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

/** How long closing one connection may take before it is dropped instead. */
const CLOSE_MS = 2000;

/** Resolves once every piece of work in `work` has settled, including work added meanwhile. */
async function settled(work: Set<Promise<void>>): Promise<void> {
  while (work.size > 0) await Promise.allSettled([...work]);
}

/** QUIT, so Redis sees a clean close; a connection that is down or does not answer in time is dropped. */
async function quitOrDrop(c: Redis): Promise<void> {
  if (c.status !== 'ready' || !(await withinMs(CLOSE_MS, c.quit()))) c.disconnect();
}

/** True if `work` settled within `ms`. */
async function withinMs(ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const, () => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

function ready(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('Redis connection ended before it was ready')));
  });
}

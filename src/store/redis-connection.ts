// Where Redis is and how to connect to it: REDIS_URL names one server, a Sentinel set or a Cluster, and each
// role the broker needs (commands, BullMQ producer, blocking readers) gets an ioredis client with its own
// failure behaviour. Nothing here ever puts a password into an error message or a log line.
//
//   redis://[[user]:password@]host[:port][/db]              one server (rediss:// for TLS)
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/<master name>[?db=N&waitReplicas=1&waitTimeout=500
//                    &sentinelUsername=…&sentinelPassword=…]
//   redis+cluster://[[user]:password@]host[:port][,host[:port]…]
// (rediss+sentinel:// and rediss+cluster:// use TLS to the Redis servers, and to the sentinels as well.)
import { hostname } from 'node:os';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export interface RedisNode {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export type RedisTarget =
  | ({ kind: 'server'; url: string; tls: boolean } & Credentials)
  | ({
      kind: 'sentinel';
      sentinels: RedisNode[];
      masterName: string;
      db: number;
      tls: boolean;
      /** replicas that must hold a state change before the broker goes on (WAIT); 0: do not wait */
      waitReplicas: number;
      waitTimeoutMs: number;
      sentinelUsername?: string;
      sentinelPassword?: string;
    } & Credentials)
  | ({ kind: 'cluster'; nodes: RedisNode[]; tls: boolean } & Credentials);

/** A client of either kind: BullMQ takes both, and Cluster speaks the same commands, pipelines and EVAL. */
export type RedisClient = Redis | Cluster;

/**
 * - commands: the broker's own reads and writes; a few retries, then fail so Slack gets "try again".
 * - producer: adds BullMQ jobs; fails at once while Redis is away (no offline queue), as BullMQ advises, and
 *   on the same deadline as commands.
 * - blocking: BullMQ workers and the audit reader; hold a blocking read and must retry forever.
 */
export type RedisRole = 'commands' | 'producer' | 'blocking';

export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

const FORMS = 'redis://, rediss://, redis+sentinel:// or redis+cluster:// URL';
const DEFAULT_PORT = { server: 6379, sentinel: 26379, cluster: 6379 } as const;

/**
 * The passwords REDIS_URL carries (the server's and Sentinel's), decoded and as written in the URL, for the
 * logger's secret values: a client error or a logged option object must not show them.
 */
export function redisSecrets(url: string): string[] {
  const target = parseRedisUrl(url);
  const decoded = [target.password, target.kind === 'sentinel' ? target.sentinelPassword : undefined].filter((p): p is string => !!p);
  const asWritten = /^[a-z+]+:\/\/[^:@/?#]*:([^@/?#]+)@/i.exec(url)?.[1];
  const sentinelAsWritten = /[?&]sentinelPassword=([^&#]+)/.exec(url)?.[1];
  const all = [...decoded, ...decoded.map(encodeURIComponent), asWritten, sentinelAsWritten].filter((p): p is string => !!p);
  return [...new Set(all)];
}

/** Parses REDIS_URL. Errors say what is wrong and never repeat the URL (it may hold a password). */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'redis':
    case 'rediss':
      return parseServerUrl(url, scheme === 'rediss');
    case 'redis+sentinel':
    case 'rediss+sentinel':
    case 'redis+cluster':
    case 'rediss+cluster':
      return parseMultiHostUrl(url, scheme.endsWith('sentinel') ? 'sentinel' : 'cluster', scheme.startsWith('rediss'));
    default:
      throw new RedisUrlError(`must be a ${FORMS}`);
  }
}

function parseServerUrl(url: string, tls: boolean): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUrlError(`is not a valid URL (expected ${tls ? 'rediss' : 'redis'}://[:password@]host[:port][/db])`);
  }
  if (!u.hostname) throw new RedisUrlError('names no host');
  checkDb(u.pathname.replace(/^\//, ''));
  return { kind: 'server', url, tls, ...credentials(u.username, u.password) };
}

const MULTI_HOST = /^[a-z+]+:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i;

function parseMultiHostUrl(url: string, kind: 'sentinel' | 'cluster', tls: boolean): RedisTarget {
  const m = MULTI_HOST.exec(url);
  if (!m) throw new RedisUrlError(`is not a valid redis+${kind}:// URL`);
  const [, userinfo, hostList = '', path = '', query = ''] = m;
  if (hostList === '') throw new RedisUrlError(`names no ${kind === 'sentinel' ? 'sentinel' : 'cluster node'}`);
  const hosts = hostList.split(',');
  const nodes = hosts.map((h, i) => parseNode(h, DEFAULT_PORT[kind], hosts.length > 1 ? `host ${i + 1} of ${hosts.length}` : 'its host'));
  const [user = '', password = ''] = userinfo === undefined ? [] : splitOnce(userinfo, ':');
  const auth = credentials(user, password);
  const params = new URLSearchParams(query);
  if (kind === 'cluster') {
    if (path !== '') throw new RedisUrlError('redis+cluster:// takes no path: a cluster has only database 0');
    rejectUnknown(params, []);
    return { kind, nodes, tls, ...auth };
  }
  const masterName = decode(path);
  if (!masterName) throw new RedisUrlError('redis+sentinel:// needs the master name as its path (…/mymaster)');
  rejectUnknown(params, ['db', 'waitReplicas', 'waitTimeout', 'sentinelUsername', 'sentinelPassword']);
  const db = checkDb(params.get('db') ?? '');
  const waitReplicas = wholeNumber(params.get('waitReplicas'), 1, 'waitReplicas');
  const waitTimeoutMs = wholeNumber(params.get('waitTimeout'), 500, 'waitTimeout');
  const sentinelUsername = params.get('sentinelUsername') || undefined;
  const sentinelPassword = params.get('sentinelPassword') || undefined;
  return { kind, sentinels: nodes, masterName, db, tls, waitReplicas, waitTimeoutMs, ...auth, ...(sentinelUsername ? { sentinelUsername } : {}), ...(sentinelPassword ? { sentinelPassword } : {}) };
}

// Errors name the host by position, not by text: a password with an unescaped '/' or '@' would land there.
function parseNode(text: string, defaultPort: number, which: string): RedisNode {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9_.-]+))(?::(\d+))?$/i.exec(text);
  if (!m) throw new RedisUrlError(`has a malformed ${which} (expected host[:port] or [IPv6]:port; escape special characters in the password as %XX)`);
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65535) throw new RedisUrlError(`has a port out of range in ${which}`);
  return { host: m[1] ?? m[2]!, port };
}

function checkDb(text: string): number {
  if (text === '') return 0;
  if (!/^\d{1,5}$/.test(text)) throw new RedisUrlError('has a database number that is not a whole number');
  return Number(text);
}

function wholeNumber(text: string | null, fallback: number, name: string): number {
  if (text === null || text === '') return fallback;
  if (!/^\d{1,6}$/.test(text)) throw new RedisUrlError(`has a ${name} that is not a whole number`);
  return Number(text);
}

function rejectUnknown(params: URLSearchParams, known: string[]): void {
  for (const name of params.keys()) {
    if (!known.includes(name)) throw new RedisUrlError(`has an unknown option "${name}"${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }
}

function credentials(user: string, password: string): Credentials {
  const out: Credentials = {};
  if (user) out.username = decode(user);
  if (password) out.password = decode(password);
  return out;
}

function splitOnce(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep);
  return i === -1 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError('has a malformed %-escape');
  }
}

/** For logs: where the broker connects, with no credentials. */
export function describeRedisTarget(target: RedisTarget): string {
  const auth = target.password ? ' (with password)' : '';
  const nodes = (list: RedisNode[]) => list.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',');
  switch (target.kind) {
    case 'server': {
      const u = new URL(target.url);
      return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}${auth}`;
    }
    case 'sentinel':
      return `Sentinel master "${target.masterName}" db ${target.db} via ${nodes(target.sentinels)}${target.tls ? ' (TLS)' : ''}${auth}`;
    case 'cluster':
      return `Cluster via ${nodes(target.nodes)}${target.tls ? ' (TLS)' : ''}${auth}`;
  }
}

// Commands fail fast while Redis is away (no offline queue, a deadline on every command): the Slack user is
// told to try again at once instead of Slack timing out, and the connection comes back by itself (within
// 500 ms of Redis, or a promoted replica, being there again). A command in flight when the connection drops is
// failed, not sent again: Redis may have run it already (a request created twice, an audit event appended
// twice); callers retry where that is safe. Blocking readers and BullMQ workers wait instead.
// The deadline is also what fails a command in flight when the connection drops and comes straight back:
// ioredis sets such a command aside and, not resending it, forgets it on the reconnect, unsettled
// (redis/ioredis#2193). Without it a BullMQ add across a Redis restart hung an activation follow-up forever.
const FAIL_FAST: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 2, autoResendUnfulfilledCommands: false, commandTimeout: 2000 };
const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  commands: FAIL_FAST,
  producer: FAIL_FAST,
  blocking: { maxRetriesPerRequest: null },
};

export interface RedisClientOptions {
  /** CLIENT SETNAME, so an operator can tell the broker's connections apart */
  connectionName?: string;
  /** told when fewer replicas than asked acknowledged a state change in time (Sentinel with waitReplicas) */
  onUnreplicated?: (acknowledged: number, wanted: number) => void;
  /** options that override the role's (e.g. a one-shot CLI that gives up instead of reconnecting) */
  overrides?: RedisOptions;
}

/** One ioredis client for `role`. The caller owns it (and its 'error' events). */
export function createRedisClient(target: RedisTarget, role: RedisRole, opts: RedisClientOptions = {}): RedisClient {
  const base: RedisOptions = { connectionName: opts.connectionName ?? `jit-jump:${hostname()}:${process.pid}`, ...ROLE_OPTIONS[role], ...opts.overrides };
  // Reconnect at least every 500 ms (ioredis backs off to 2 s): once a replica is promoted, or Redis is back,
  // the broker follows within half a second. (A Cluster client finds moved slots by itself.)
  const reconnect: RedisOptions = { retryStrategy: opts.overrides?.retryStrategy ?? ((times) => Math.min(times * 50, 500)) };
  const auth = { ...(target.username ? { username: target.username } : {}), ...(target.password ? { password: target.password } : {}) };
  switch (target.kind) {
    case 'server':
      return new Redis(target.url, { ...base, ...reconnect });
    case 'sentinel': {
      const client = new Redis({
        ...base,
        ...reconnect,
        ...auth,
        sentinels: target.sentinels,
        name: target.masterName,
        db: target.db,
        ...(target.sentinelUsername ? { sentinelUsername: target.sentinelUsername } : {}),
        ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
        ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
        // No failoverDetector: its +switch-master handler, arriving while the client is already reconnecting
        // (the primary died and closed the connection), ends the client for good ("Connection is closed"),
        // seen here with ioredis 6; ioredis itself ships it off by default (redis/ioredis#1363).
        // A primary demoted to replica (a planned failover) answers writes with READONLY: reconnect through the
        // sentinels and send the refused command again (2), now to the primary; it was not applied.
        reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
      });
      if (role === 'commands' && target.waitReplicas > 0) {
        acknowledgeWrites(client, target.waitReplicas, target.waitTimeoutMs, opts.onUnreplicated);
      }
      return client;
    }
    case 'cluster': {
      const { enableOfflineQueue, ...redisOptions } = base;
      const options: ClusterOptions = {
        redisOptions: { ...redisOptions, ...auth, ...(target.tls ? { tls: {} } : {}) },
        ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      };
      return new Cluster(target.nodes, options);
    }
  }
}

/**
 * The broker's stores are typed against `Redis`; a Cluster client offers every command, pipeline and EVAL they
 * use (all their keys share one hash slot, see redis-keys.ts), so it stands in for one.
 */
export function asCommandClient(client: RedisClient): Redis {
  return client as Redis;
}

/**
 * Replication to the replicas is asynchronous: a primary that dies a moment after a write takes that write
 * with it, and the promoted replica never saw it. The broker's state changes are Lua scripts (scripts.ts,
 * defined with defineCommand; plain EVAL too) and MULTI blocks; after each, WAIT until `replicas` replicas hold
 * everything this connection wrote, so what the broker then tells Slack or writes to a jump server survives a
 * failover (Sentinel promotes the
 * most up-to-date replica). Short of replicas within the timeout, the change stands (it is on the primary) and
 * `onShort` is told: the broker works on, with the loss window of plain asynchronous replication.
 */
function acknowledgeWrites(client: Redis, replicas: number, timeoutMs: number, onShort?: (acked: number, wanted: number) => void): void {
  const acknowledged = async <T>(result: T): Promise<T> => {
    let acked = 0;
    try {
      acked = await client.wait(replicas, timeoutMs);
    } catch {
      // the write itself succeeded; a connection lost right after it counts as not acknowledged
    }
    if (acked < replicas) onShort?.(acked, replicas);
    return result;
  };
  type AnyFn = (...args: unknown[]) => unknown;
  const evalScript = client.eval.bind(client) as unknown as (...args: unknown[]) => Promise<unknown>;
  (client as unknown as { eval: AnyFn }).eval = async (...args) => acknowledged(await evalScript(...args));
  // A script defined on this client (scripts.ts) is a method of its own, named as defined: wrap each one.
  const defineCommand = client.defineCommand.bind(client);
  client.defineCommand = (name, definition) => {
    defineCommand(name, definition);
    const script = (client as unknown as Record<string, AnyFn>)[name]!.bind(client);
    (client as unknown as Record<string, AnyFn>)[name] = async (...args) => acknowledged(await script(...args));
  };
  const multi = client.multi.bind(client) as unknown as (...args: unknown[]) => { exec: (...a: unknown[]) => Promise<unknown> };
  (client as unknown as { multi: AnyFn }).multi = (...args) => {
    const tx = multi(...args);
    if (typeof tx?.exec !== 'function') return tx; // multi({ pipeline: false }): a plain MULTI, not a pipeline
    const exec = tx.exec.bind(tx);
    tx.exec = async (...a) => acknowledged(await exec(...a));
    return tx;
  };
}

/**
 * One connection for a one-shot command (export, dry run): one attempt, no reconnecting, so a command that
 * cannot reach Redis says so and ends instead of retrying forever.
 */
export async function connectOnce(url: string, commandTimeoutMs: number): Promise<Redis> {
  const target = parseRedisUrl(url);
  const redis = asCommandClient(createRedisClient(target, 'commands', { overrides: { maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs, retryStrategy: () => null } }));
  redis.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('end', () => reject(new Error(`cannot reach Redis at ${describeRedisTarget(target)}`)));
    });
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}

/**
 * Whether an error only says Redis cannot be reached now (refused, reset, closed, timed out): the broker logs
 * an outage once (and its end), so every component's own report of it goes to debug.
 */
export function isRedisConnectionError(err: unknown): boolean {
  const text = `${(err as NodeJS.ErrnoException)?.code ?? ''} ${(err as Error)?.message ?? String(err)}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Reached the max retries|All sentinels are unreachable|Failed to refresh slots cache/i.test(text);
}

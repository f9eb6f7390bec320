// A whole jit-jump installation on loopback: a real redis-server (unless REDIS_URL names one), a real jump
// sshd and two internal sshds, a local stand-in for the Slack Web API, and the broker wired to them.
// The sandbox shows it to a person; the end-to-end tests drive it.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBroker, type Broker, type BrokerTuning } from '../broker.ts';
import { readEnv } from '../config/env.ts';
import { validatePolicy, type Policy } from '../config/policy.ts';
import { createLogger } from '../logger.ts';
import { startLocalSlackApi, type LocalSlackApi } from './local-slack-api.ts';
import { startRedis, type RedisProcess } from './redis-process.ts';
import { createSlackSender } from './slack-sender.ts';
import { generateUserKey, startSshd, type SshdProcess } from './sshd-process.ts';

export const SIGNING_SECRET = 'sandbox-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-sandbox-bot-token-0123456789';
export const APP_TOKEN = 'xapp-1-sandbox-app-token-0123456789';
export const TEAM_ID = 'T0TEST';
export const ENGINEER = 'U0ENGINEER';
export const OWNER = 'U0OWNER1';
export const OWNER2 = 'U0OWNER2';
export const OUTSIDER = 'U0OUTSIDER';
export const OWNER_GROUP = 'S0OWNERS';
export const AUDIT_CHANNEL = 'C0AUDIT';
export const APPROVAL_CHANNEL = 'C0APPROVALS';

export const PEOPLE: Record<string, string> = {
  [ENGINEER]: 'Erin (engineer)',
  [OWNER]: 'Olivia (owner)',
  [OWNER2]: 'Oscar (owner)',
  [OUTSIDER]: 'Mallory (outsider)',
};

export interface Environment {
  dir: string;
  /** undefined when REDIS_URL named an existing Redis */
  redis?: RedisProcess;
  redisUrl: string;
  /** the broker's Redis key prefix (set when REDIS_URL named a shared Redis) */
  redisPrefix?: string;
  jump: SshdProcess;
  internal: SshdProcess;
  internal2: SshdProcess;
  slack: LocalSlackApi;
  policy: Policy;
  broker: Broker;
  sender: ReturnType<typeof createSlackSender>;
  engineerKey: { privateKeyPath: string; publicKey: string };
  logs: string[];
  /** stops the broker and starts a new one, with `policy` if given (a start that throws leaves no broker) */
  restartBroker(policy?: Policy): Promise<void>;
  stop(): Promise<void>;
}

export interface EnvironmentOptions {
  duration?: string;
  minDuration?: string;
  maxDuration?: string;
  approvals?: number;
  approvalTimeout?: string;
  expiryWarning?: string;
  /** reminders of undecided requests (policy defaults; unset: the policy's defaults) */
  remindAfter?: string;
  /** policy rules, and fields that replace a host's own (`undefined` removes one: a host that takes it from a rule) */
  rules?: Record<string, unknown>[];
  hostFields?: Partial<Record<'internal-1' | 'internal-2', Record<string, unknown>>>;
  /** policy breakGlass */
  breakGlass?: Record<string, unknown>;
  /** policy autoApprove rules */
  autoApprove?: Record<string, unknown>[];
  /** policy auditors: who reads `/jump audit` for every host */
  auditors?: string[];
  /** reason rules and requesters in the policy defaults */
  reasonPattern?: string;
  reasonHint?: string;
  /** extensions (policy defaults; unset: the policy's defaults) */
  selfExtend?: string;
  maxTotalDuration?: string;
  escalateAfter?: string;
  escalateTo?: string[];
  /** run the broker in Socket Mode (SLACK_APP_TOKEN set) against the local WebSocket */
  socketMode?: boolean;
  /** use this Redis instead of starting one (a key prefix per environment keeps data apart) */
  redisUrl?: string;
  logLevel?: string;
  /** where log lines go besides the in-memory list */
  logSink?: (line: string) => void;
  /** HTTP port of the broker (0: any free port) */
  port?: number;
  /** policy limits (rate limits, sizes); unset fields keep the policy's defaults */
  limits?: Record<string, unknown>;
  /** use this (empty) directory instead of a new temp dir; removed on stop all the same */
  dir?: string;
  /** start redis-server and sshd in process groups of their own (the sandbox: Ctrl-C reaches only the sandbox) */
  ownProcessGroups?: boolean;
  /** policy reconcileInterval (default 1m) */
  reconcileInterval?: string;
  /** broker timings shortened by tests */
  tuning?: BrokerTuning;
  /** the jump sshd logs through a real log daemon read by the broker (sshdLog), with a non-root jump account
   *  (needs root: see sshd-process.ts) */
  sshdLog?: 'journal' | 'file';
  /** another sshd binary for the jump server (tests: one that logs a connection's lines in another order) */
  jumpSshdBinary?: string;
}

/** The non-root jump account of an environment whose jump server's log is read (a root login has no user child). */
export const JUMP_ACCOUNT = 'jitjump';

export async function startEnvironment(opts: EnvironmentOptions = {}): Promise<Environment> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'jit-env-'));
  const started: { stop(): Promise<void> }[] = [];
  try {
    const brokerKey = generateUserKey(dir, 'broker_ed25519');
    const engineerKey = generateUserKey(dir, 'engineer_ed25519');
    // Every server keeps its files inside this environment's one temp dir.
    const where = { parentDir: dir, ownProcessGroup: opts.ownProcessGroups };
    const redis = opts.redisUrl ? undefined : await startRedis({ appendonly: true, ...where });
    if (redis) started.push(redis);
    // The broker's own key stands outside the managed block, as an operator would install it.
    const logging = opts.sshdLog ? { jumpUser: JUMP_ACCOUNT, log: opts.sshdLog } : {};
    // The non-root jump account must pass through this directory to its own files (keys here stay 0600).
    if (opts.sshdLog) chmodSync(dir, 0o711);
    const jump = await startSshd({ name: 'jump', role: 'jump', authorizedKeysContent: `restrict ${brokerKey.publicKey}\n`, binary: opts.jumpSshdBinary, ...logging, ...where });
    started.push(jump);
    const internal = await startSshd({ name: 'internal', role: 'internal', authorizedKeysContent: `${engineerKey.publicKey}\n`, ...where });
    started.push(internal);
    const internal2 = await startSshd({ name: 'internal2', role: 'internal', authorizedKeysContent: `${engineerKey.publicKey}\n`, ...where });
    started.push(internal2);
    const slack = await startLocalSlackApi({
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
      usergroups: { [OWNER_GROUP]: [OWNER, OWNER2] },
      teamId: TEAM_ID,
      // Slack's 3 s would make a test on a loaded machine fail by chance: expiry is tested with the fake's clock.
      triggerTtlMs: 60_000,
    });
    started.push(slack);

    const policy = validatePolicy({
      auditChannel: AUDIT_CHANNEL,
      approvalChannel: APPROVAL_CHANNEL,
      ...(opts.reconcileInterval ? { reconcileInterval: opts.reconcileInterval } : {}),
      defaults: {
        duration: opts.duration ?? '5s',
        minDuration: opts.minDuration ?? '1s',
        maxDuration: opts.maxDuration ?? '1h',
        requireReason: true,
        approvals: 1,
        approvalTimeout: opts.approvalTimeout ?? '1h',
        expiryWarning: opts.expiryWarning ?? '10m',
        ...(opts.remindAfter ? { remindAfter: opts.remindAfter } : {}),
        ...(opts.selfExtend ? { selfExtend: opts.selfExtend } : {}),
        ...(opts.maxTotalDuration ? { maxTotalDuration: opts.maxTotalDuration } : {}),
        ...(opts.reasonPattern ? { reasonPattern: opts.reasonPattern, reasonHint: opts.reasonHint } : {}),
        ...(opts.escalateAfter ? { escalateAfter: opts.escalateAfter, escalateTo: opts.escalateTo } : {}),
      },
      ...(opts.limits ? { limits: opts.limits } : {}),
      jumpHosts: [
        {
          name: 'bastion',
          address: '127.0.0.1',
          port: jump.port,
          user: jump.user,
          hostKey: jump.hostKeyFingerprint,
          privateKeyPath: brokerKey.privateKeyPath,
          authorizedKeysPath: jump.authorizedKeysPath,
          ...(jump.logSource ? { sshdLog: jump.logSource } : {}),
        },
      ],
      ...(opts.rules ? { rules: opts.rules } : {}),
      ...(opts.autoApprove ? { autoApprove: opts.autoApprove } : {}),
      ...(opts.breakGlass ? { breakGlass: opts.breakGlass } : {}),
      ...(opts.auditors ? { auditors: opts.auditors } : {}),
      hosts: [
        { name: 'internal-1', address: '127.0.0.1', port: internal.port, jumpHost: 'bastion', loginUser: internal.user, owners: [OWNER_GROUP], approvals: opts.approvals ?? 1, ...opts.hostFields?.['internal-1'] },
        { name: 'internal-2', address: '127.0.0.1', port: internal2.port, jumpHost: 'bastion', loginUser: internal2.user, owners: [OWNER], ...opts.hostFields?.['internal-2'] },
      ],
    });
    const policyPath = join(dir, 'jit.config.yaml');
    writeFileSync(policyPath, stringify(policy));

    const logs: string[] = [];
    const redisUrl = opts.redisUrl ?? redis!.url;
    const env = readEnv({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL: redisUrl,
      PORT: String(opts.port ?? 0),
      JIT_CONFIG: policyPath,
      LOG_LEVEL: opts.logLevel ?? 'debug',
      ...(opts.socketMode ? { SLACK_APP_TOKEN: APP_TOKEN } : {}),
    });
    const logger = createLogger({
      level: env.LOG_LEVEL,
      secrets: [BOT_TOKEN, SIGNING_SECRET, APP_TOKEN],
      destination: {
        write: (line: string) => {
          logs.push(line);
          opts.logSink?.(line);
        },
      },
    });
    // A shared Redis (REDIS_URL) gets a prefix of its own so that nothing collides with real data.
    const redisPrefix = opts.redisUrl ? `{jit-sandbox-${process.pid}}` : undefined;
    const environment = { dir, redis, redisUrl, redisPrefix, jump, internal, internal2, slack, policy, engineerKey, logs } as Environment;
    const boot = async () => {
      environment.broker = await startBroker({ env, policy: environment.policy, logger, host: '127.0.0.1', redisPrefix, tuning: opts.tuning, healthPort: opts.socketMode ? 0 : undefined });
      environment.sender = createSlackSender({
        url: `http://127.0.0.1:${environment.broker.port}/slack/events`,
        signingSecret: SIGNING_SECRET,
        teamId: TEAM_ID,
        fake: slack,
      });
    };
    await boot();
    environment.restartBroker = async (next?: Policy) => {
      await environment.broker?.stop();
      environment.broker = undefined as unknown as Broker;
      if (next) environment.policy = next;
      await boot();
    };
    environment.stop = async () => {
      await environment.broker?.stop().catch(() => undefined);
      await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
    };
    return environment;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

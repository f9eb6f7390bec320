// A whole jit-jump installation on loopback for end-to-end tests: real redis-server, a real jump sshd and an
// internal sshd, the fake Slack Web API, and the broker itself listening for signed Slack requests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Broker } from '../../src/broker.ts';
import { startBroker } from '../../src/broker.ts';
import { readEnv } from '../../src/config/env.ts';
import { validatePolicy, type Policy } from '../../src/config/policy.ts';
import { createLogger } from '../../src/logger.ts';
import { startFakeSlack, type FakeSlack } from './fake-slack.ts';
import { startRedis, type RedisProcess } from './redis-server.ts';
import { createSlackSender } from './slack-requests.ts';
import { generateUserKey, startSshd, type SshdProcess } from './sshd.ts';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-test-bot-token-0123456789';
export const OWNER = 'U0OWNER1';
export const OWNER2 = 'U0OWNER2';
export const ENGINEER = 'U0ENGINEER';
export const OUTSIDER = 'U0OUTSIDER';
export const AUDIT_CHANNEL = 'C0AUDIT';
export const APPROVAL_CHANNEL = 'C0APPROVALS';

export interface World {
  dir: string;
  redis: RedisProcess;
  jump: SshdProcess;
  internal: SshdProcess;
  /** a second internal host, to prove one person's grants to two hosts */
  internal2: SshdProcess;
  slack: FakeSlack;
  policy: Policy;
  broker: Broker;
  sender: ReturnType<typeof createSlackSender>;
  engineerKey: { privateKeyPath: string; publicKey: string };
  logs: string[];
  restartBroker(): Promise<void>;
  stop(): Promise<void>;
}

export interface WorldOptions {
  minDuration?: string;
  approvals?: number;
  approvalTimeout?: string;
  expiryWarning?: string;
  /** run the broker in Socket Mode (SLACK_APP_TOKEN set) against the fake's WebSocket */
  socketMode?: boolean;
}

export const APP_TOKEN = 'xapp-1-test-app-token-0123456789';

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-world-'));
  const brokerKey = generateUserKey(dir, 'broker_ed25519');
  const engineerKey = generateUserKey(dir, 'engineer_ed25519');
  const redis = await startRedis({ appendonly: true });
  // The broker's own key stands outside the managed block, as an operator would install it.
  const jump = await startSshd({ name: 'jump', role: 'jump', authorizedKeysContent: `restrict ${brokerKey.publicKey}\n` });
  const internal = await startSshd({ name: 'internal', role: 'internal', authorizedKeysContent: `${engineerKey.publicKey}\n` });
  const internal2 = await startSshd({ name: 'internal2', role: 'internal', authorizedKeysContent: `${engineerKey.publicKey}\n` });
  const slack = await startFakeSlack({ usergroups: { S0OWNERS: [OWNER, OWNER2] } });

  const policy = validatePolicy({
    auditChannel: AUDIT_CHANNEL,
    approvalChannel: APPROVAL_CHANNEL,
    defaults: { duration: '5s', minDuration: opts.minDuration ?? '1s', maxDuration: '1h', requireReason: true, approvals: 1, approvalTimeout: opts.approvalTimeout ?? '1h', expiryWarning: opts.expiryWarning ?? '10m' },
    jumpHosts: [
      {
        name: 'bastion',
        address: '127.0.0.1',
        port: jump.port,
        user: jump.user,
        hostKey: jump.hostKeyFingerprint,
        privateKeyPath: brokerKey.privateKeyPath,
        authorizedKeysPath: jump.authorizedKeysPath,
      },
    ],
    hosts: [
      { name: 'internal-1', address: '127.0.0.1', port: internal.port, jumpHost: 'bastion', loginUser: internal.user, owners: ['S0OWNERS'], approvals: opts.approvals ?? 1 },
      { name: 'internal-2', address: '127.0.0.1', port: internal2.port, jumpHost: 'bastion', loginUser: internal2.user, owners: [OWNER] },
    ],
  });
  const policyPath = join(dir, 'jit.config.yaml');
  writeFileSync(policyPath, stringify(policy));

  const logs: string[] = [];
  const env = readEnv({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    REDIS_URL: redis.url,
    PORT: '0',
    JIT_CONFIG: policyPath,
    LOG_LEVEL: 'debug',
    ...(opts.socketMode ? { SLACK_APP_TOKEN: APP_TOKEN } : {}),
  });
  const logger = createLogger({ level: 'debug', secrets: [BOT_TOKEN, SIGNING_SECRET, APP_TOKEN], destination: {
      write: (l: string) => {
        logs.push(l);
        if (process.env.JIT_TEST_LOGS) process.stderr.write(l);
      },
    },
  });
  const world = {
    dir,
    redis,
    jump,
    internal,
    internal2,
    slack,
    policy,
    engineerKey,
    logs,
  } as World;
  const boot = async () => {
    world.broker = await startBroker({ env, policy, logger, host: '127.0.0.1' });
    world.sender = createSlackSender({ url: `http://127.0.0.1:${world.broker.port}/slack/events`, signingSecret: SIGNING_SECRET, fake: slack });
  };
  await boot();
  world.restartBroker = async () => {
    await world.broker.stop();
    await boot();
  };
  world.stop = async () => {
    await world.broker?.stop().catch(() => undefined);
    await Promise.all([jump.stop(), internal.stop(), internal2.stop(), slack.stop(), redis.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  return world;
}

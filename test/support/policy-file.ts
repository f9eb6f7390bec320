// Writes a world's policy as an operator's YAML file (durations as text), for broker processes and the CLI,
// and the environment such a process starts with.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BOT_TOKEN, SIGNING_SECRET } from '../../src/sandbox/environment.ts';
import type { World } from './world.ts';

export function writePolicyFile(world: World, name: string, extra: Record<string, unknown> = {}): string {
  const path = join(world.dir, name);
  writeFileSync(
    path,
    stringify({
      auditChannel: world.policy.auditChannel,
      ...(world.policy.approvalChannel ? { approvalChannel: world.policy.approvalChannel } : {}),
      defaults: { duration: '5s', minDuration: '1s', maxDuration: '1h', approvals: 1 },
      jumpHosts: world.policy.jumpHosts.map((j) => ({
        name: j.name,
        address: j.address,
        port: j.port,
        user: j.user,
        hostKey: j.hostKey,
        privateKeyPath: j.privateKeyPath,
        authorizedKeysPath: j.authorizedKeysPath,
      })),
      hosts: world.policy.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, jumpHost: h.jumpHost, loginUser: h.loginUser, owners: h.owners })),
      ...extra,
    }),
  );
  return path;
}

/**
 * The environment of a `jit-jump start` process on the world's Redis, jump server and fake Slack, with the
 * policy written to `policyName`: what an operator sets, and nothing inherited from the test process.
 */
export function brokerEnv(world: World, policyName: string, policyExtra: Record<string, unknown> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: world.slack.apiUrl,
    REDIS_URL: world.redisUrl,
    JIT_CONFIG: writePolicyFile(world, policyName, policyExtra),
    LOG_LEVEL: 'info',
  };
}

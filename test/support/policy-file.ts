// Writes a world's policy as an operator's YAML file (durations as text), for broker processes and the CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
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

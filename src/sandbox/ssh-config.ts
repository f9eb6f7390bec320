// A ready ~/.ssh/config for the sandbox engineer: `ssh -J` ignores -i for the jump hop, so a person trying the
// sandbox gets a config file naming the sandbox key and the sandbox's host keys.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from './environment.ts';

export function writeSandboxSshConfig(env: Environment): { path: string; command: (host: string) => string } {
  const knownHosts = join(env.dir, 'known_hosts');
  writeFileSync(
    knownHosts,
    [env.jump, env.internal, env.internal2].map((s) => `[127.0.0.1]:${s.port} ${s.hostPublicKey}`).join('\n') + '\n',
  );
  const common = [`    IdentityFile ${env.engineerKey.privateKeyPath}`, '    IdentitiesOnly yes', `    UserKnownHostsFile ${knownHosts}`, '    StrictHostKeyChecking yes', '    BatchMode yes'];
  const jump = env.policy.jumpHosts[0]!;
  const blocks = [
    ['Host bastion', '    HostName 127.0.0.1', `    Port ${jump.port}`, `    User ${jump.user}`, ...common].join('\n'),
    ...env.policy.hosts.map((h) =>
      [`Host ${h.name}`, `    HostName ${h.address}`, `    Port ${h.port}`, `    User ${h.loginUser}`, '    ProxyJump bastion', ...common].join('\n'),
    ),
  ];
  const path = join(env.dir, 'ssh_config');
  writeFileSync(path, `${blocks.join('\n\n')}\n`);
  return { path, command: (host) => `ssh -F ${path} ${host} 'echo "hello from $(hostname) through the jump server"'` };
}

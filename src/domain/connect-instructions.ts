// What the requester types to connect. The target address is exactly the one in permitopen:
// sshd compares it as a literal string, so any other spelling (a DNS name, another IP) is refused.
import type { HostConfig, JumpHostConfig } from '../config/policy.ts';

export interface ConnectInstructions {
  command: string;
  sshConfig: string;
}

function hostPort(user: string, address: string, port: number): string {
  return port === 22 ? `${user}@${address}` : `${user}@${address}:${port}`;
}

export function connectInstructions(host: HostConfig, jump: JumpHostConfig): ConnectInstructions {
  const jumpAddress = jump.publicAddress ?? jump.address;
  const jumpPort = jump.publicPort ?? jump.port;
  const jumpSpec = hostPort(jump.user, jumpAddress, jumpPort);
  const target = host.port === 22 ? `${host.loginUser}@${host.address}` : `-p ${host.port} ${host.loginUser}@${host.address}`;
  const command = `ssh -J ${jumpSpec} ${target}`;
  const sshConfig = [
    `Host ${host.name}`,
    `    HostName ${host.address}`,
    ...(host.port === 22 ? [] : [`    Port ${host.port}`]),
    `    User ${host.loginUser}`,
    `    ProxyJump ${jumpSpec}`,
  ].join('\n');
  return { command, sshConfig };
}

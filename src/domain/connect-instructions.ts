// What the requester types to connect. The target address is exactly the one in permitopen:
// sshd compares it as a literal string, so any other spelling (a DNS name, another IP) is refused.
import type { HostPolicy, JumpHostPolicy } from './policy.ts';

export interface ConnectInstructions {
  command: string;
  sshConfig: string;
}

/** An IPv6 literal without brackets, as ssh wants it for a destination or HostName. */
function bare(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}

/** -J / ProxyJump take [user@]host[:port]: an IPv6 literal must be bracketed there, even without a port. */
function hostPort(user: string, address: string, port: number): string {
  const host = bare(address).includes(':') ? `[${bare(address)}]` : address;
  return port === 22 ? `${user}@${host}` : `${user}@${host}:${port}`;
}

export function connectInstructions(host: HostPolicy, jump: JumpHostPolicy): ConnectInstructions {
  const jumpAddress = jump.publicAddress ?? jump.address;
  const jumpPort = jump.publicPort ?? jump.port;
  const jumpSpec = hostPort(jump.user, jumpAddress, jumpPort);
  const address = bare(host.address);
  const target = host.port === 22 ? `${host.loginUser}@${address}` : `-p ${host.port} ${host.loginUser}@${address}`;
  const command = `ssh -J ${jumpSpec} ${target}`;
  const sshConfig = [
    `Host ${host.name}`,
    `    HostName ${address}`,
    ...(host.port === 22 ? [] : [`    Port ${host.port}`]),
    `    User ${host.loginUser}`,
    `    ProxyJump ${jumpSpec}`,
  ].join('\n');
  return { command, sshConfig };
}

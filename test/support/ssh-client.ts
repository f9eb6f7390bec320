// Runs the real ssh client. `ssh -J` ignores -i/-o for the jump hop, so everything goes through a -F config.
//
// What the refusals look like (OpenSSH 9.2 client and server, LogLevel ERROR on the client):
// - shell on the jump server with command="/bin/false": authentication succeeds, the forced command runs,
//   exit code 1, empty stdout and stderr (sshd logs nothing special).
// - -W to a host:port not in permitopen: exit code 255, stderr "stdio forwarding failed"
//   (sshd logs "but the request was denied" at VERBOSE).
// - ProxyJump to a target not in permitopen: exit code 255, stderr "stdio forwarding failed" and
//   "kex_exchange_identification: Connection closed by remote host".
// - a key line whose expiry-time has passed: exit code 255, stderr "Permission denied (publickey)"
//   (sshd logs "Refused by key options" at VERBOSE).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshdProcess } from './sshd.ts';

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface HostEntry {
  alias: string;
  server: SshdProcess;
  /** defaults to server.port; another port tests permitopen (the known_hosts entry follows it) */
  port?: number;
  proxyJump?: string;
}

/** One ssh_config block per host, all pinned to a known_hosts file holding exactly the servers' host keys. */
export function buildSshConfig(hosts: HostEntry[], identityFile: string, knownHostsFile: string): string {
  return hosts
    .map((h) =>
      [
        `Host ${h.alias}`,
        '    HostName 127.0.0.1',
        `    Port ${h.port ?? h.server.port}`,
        `    User ${h.server.user}`,
        `    IdentityFile ${identityFile}`,
        '    IdentitiesOnly yes',
        `    UserKnownHostsFile ${knownHostsFile}`,
        '    GlobalKnownHostsFile /dev/null',
        '    StrictHostKeyChecking yes',
        '    BatchMode yes',
        '    ConnectTimeout 5',
        '    LogLevel ERROR',
        ...(h.proxyJump ? [`    ProxyJump ${h.proxyJump}`] : []),
      ].join('\n'),
    )
    .join('\n\n')
    .concat('\n');
}

function knownHostsLines(hosts: HostEntry[]): string {
  return hosts.map((h) => `[127.0.0.1]:${h.port ?? h.server.port} ${h.server.hostPublicKey}`).join('\n') + '\n';
}

async function runSsh(hosts: HostEntry[], identityFile: string, args: string[], timeoutMs = 10_000, stopWhen?: RegExp): Promise<SshResult> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-ssh-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, knownHostsLines(hosts));
  const config = join(dir, 'config');
  writeFileSync(config, buildSshConfig(hosts, identityFile, knownHosts));
  try {
    return await new Promise<SshResult>((resolve) => {
      // stdin stays an open pipe: EOF on it would half-close a -W tunnel before the far end has spoken.
      const child = spawn('ssh', ['-F', config, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let stopped = false;
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (d) => {
        stdout += d;
        // A tunnel that works stays open: once it has shown what we wanted to see, close it.
        if (stopWhen?.test(stdout) && !stopped) {
          stopped = true;
          child.kill('SIGTERM');
        }
      });
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => {
        clearTimeout(timer);
        // null code: killed by our timeout, reported like ssh's own failures.
        resolve({ code: stopped ? 0 : (code ?? 255), stdout, stderr });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ssh through `jump` (ProxyJump) to `target`, running `command` there. */
export function sshHop(o: { jump: SshdProcess; target: SshdProcess; identityFile: string; command?: string; targetPort?: number }): Promise<SshResult> {
  return runSsh(
    [
      { alias: 'jump', server: o.jump },
      { alias: 'target', server: o.target, port: o.targetPort, proxyJump: 'jump' },
    ],
    o.identityFile,
    ['target', o.command ?? 'echo hop-ok'],
  );
}

/** Tries to run a command on the jump server itself (a key line with command="/bin/false" must stop it). */
export function sshJumpShell(o: { jump: SshdProcess; identityFile: string; command?: string }): Promise<SshResult> {
  return runSsh([{ alias: 'jump', server: o.jump }], o.identityFile, ['jump', o.command ?? 'echo shell-ok']);
}

/**
 * Tries `ssh -W host:port` through the jump server (permitopen must refuse anything not granted).
 * Code 0 once the far end's SSH banner arrived (the tunnel would otherwise stay open); its stdout holds the banner.
 */
export function sshTunnel(o: { jump: SshdProcess; identityFile: string; toHost: string; toPort: number }): Promise<SshResult> {
  return runSsh([{ alias: 'jump', server: o.jump }], o.identityFile, ['-W', `${o.toHost}:${o.toPort}`, 'jump'], 5_000, /SSH-2\.0-/);
}

/**
 * Tries `ssh -R` on the jump server: per-key `port-forwarding` re-enables it, so only the jump server's
 * `AllowTcpForwarding local` / `PermitListen none` stop it. With ExitOnForwardFailure a refusal ends ssh
 * with 255 before any command runs; a granted listener lets `command` run (its exit code is returned).
 */
export function sshRemoteForward(o: { server: SshdProcess; identityFile: string; command?: string }): Promise<SshResult> {
  return runSsh(
    [{ alias: 'jump', server: o.server }],
    o.identityFile,
    ['-o', 'ExitOnForwardFailure=yes', '-R', '127.0.0.1:0:127.0.0.1:9', 'jump', o.command ?? 'echo forward-ok'],
    5_000,
  );
}

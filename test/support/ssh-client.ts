// Runs the real ssh client. `ssh -J` ignores -i/-o for the jump hop, so everything goes through a -F config.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshdProcess } from '../../src/sandbox/sshd-process.ts';

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

function hostBlock(alias: string, server: SshdProcess, identityFile: string, extra: string[] = []): string {
  return [
    `Host ${alias}`,
    '    HostName 127.0.0.1',
    `    Port ${server.port}`,
    `    User ${server.user}`,
    `    IdentityFile ${identityFile}`,
    '    IdentitiesOnly yes',
    '    BatchMode yes',
    '    StrictHostKeyChecking yes',
    '    ConnectTimeout 5',
    '    LogLevel ERROR',
    ...extra.map((l) => `    ${l}`),
  ].join('\n');
}

async function runSsh(servers: SshdProcess[], blocks: string[], args: string[], timeoutMs = 10_000, stopWhen?: RegExp): Promise<SshResult> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-ssh-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, servers.map((s) => `[127.0.0.1]:${s.port} ${s.hostPublicKey}`).join('\n') + '\n');
  const config = join(dir, 'config');
  writeFileSync(config, blocks.map((b) => `${b}\n    UserKnownHostsFile ${knownHosts}`).join('\n') + '\n');
  try {
    return await new Promise<SshResult>((resolve) => {
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
        resolve({ code: stopped ? 0 : (code ?? 255), stdout, stderr });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ssh -J through `jump` to `target`, running `command` there. */
export function sshHop(o: { jump: SshdProcess; target: SshdProcess; identityFile: string; command?: string }): Promise<SshResult> {
  return runSsh(
    [o.jump, o.target],
    [hostBlock('jump', o.jump, o.identityFile), hostBlock('target', o.target, o.identityFile, ['ProxyJump jump'])],
    ['target', o.command ?? 'echo hop-ok'],
  );
}

/** Tries to run a command on the jump server itself (a key line with command="/bin/false" must stop it). */
export function sshJumpShell(o: { jump: SshdProcess; identityFile: string }): Promise<SshResult> {
  return runSsh([o.jump], [hostBlock('jump', o.jump, o.identityFile)], ['jump', 'echo shell-ok']);
}

/** Tries to open a tunnel through the jump server to some host:port (permitopen must refuse others); code 0 once the far end's SSH banner arrived. */
export function sshTunnel(o: { jump: SshdProcess; identityFile: string; toHost: string; toPort: number }): Promise<SshResult> {
  return runSsh([o.jump], [hostBlock('jump', o.jump, o.identityFile)], ['-W', `${o.toHost}:${o.toPort}`, 'jump'], 5_000, /SSH-2\.0-/);
}

// The broker's side of a jump server in tests: an ssh2 connection as the jump account (pinned host key) that runs
// commands there, as the broker will to read sshd's log and to end a session (issue #12).
import { readFileSync } from 'node:fs';
import { Client } from 'ssh2';
import { sha256Fingerprint } from '../../src/jumphost/host-key-fingerprint.ts';
import type { SshdProcess } from './sshd.ts';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface JumpAccountConnection {
  /** runs `command` on the jump server; rejects after `timeoutMs` (ssh2 has no deadline of its own) */
  exec(command: string, timeoutMs?: number): Promise<ExecResult>;
  end(): void;
}

export function connectAsJumpAccount(jump: SshdProcess, privateKeyPath: string): Promise<JumpAccountConnection> {
  const client = new Client();
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve({ exec: (command, timeoutMs) => exec(client, command, timeoutMs), end: () => client.end() }));
    // Before ready: the connect failed. After: a dropped connection, which the next exec reports.
    client.on('error', reject);
    client.connect({
      host: '127.0.0.1',
      port: jump.port,
      username: jump.user,
      privateKey: readFileSync(privateKeyPath),
      readyTimeout: 30_000,
      hostVerifier: (key: Buffer) => sha256Fingerprint(key) === jump.hostKeyFingerprint,
    });
  });
}

function exec(client: Client, command: string, timeoutMs = 30_000): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exec "${command}" timed out after ${timeoutMs} ms`)), timeoutMs);
    client.exec(command, (err, stream) => {
      if (err) {
        clearTimeout(timer);
        reject(err);
        return;
      }
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      stream.on('data', (d: Buffer) => (stdout += d));
      stream.stderr.on('data', (d: Buffer) => (stderr += d));
      stream.on('exit', (c: number | null) => (code = c));
      stream.on('close', () => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  });
}

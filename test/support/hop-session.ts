// A live `ssh -J` session (jump server → internal host) that stays open until someone ends it: what an engineer
// holds while connected. Built on ssh-client.ts's config (ssh -J ignores -i/-o for the jump hop).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSshConfig } from './ssh-client.ts';
import type { SshdProcess } from './sshd.ts';

export interface HopEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface HopSession {
  /** the ssh client process */
  child: ChildProcess;
  /** resolves when the ssh client exits */
  ended: Promise<HopEnd>;
  /** ends the client if it still runs and removes its files */
  close(): Promise<HopEnd>;
}

const READY = 'hop-session-ready';

/**
 * Opens the session and resolves once the internal host runs its command. The command is `cat` on an open
 * stdin rather than `sleep`: it ends with the connection, where a sleep would outlive a killed tunnel there.
 */
export async function openHopSession(o: { jump: SshdProcess; target: SshdProcess; identityFile: string; timeoutMs?: number }): Promise<HopSession> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-hop-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, [o.jump, o.target].map((s) => `[127.0.0.1]:${s.port} ${s.hostPublicKey}\n`).join(''));
  const hosts = [
    { alias: 'jump', server: o.jump },
    { alias: 'target', server: o.target, proxyJump: 'jump' },
  ];
  writeFileSync(join(dir, 'config'), buildSshConfig(hosts, o.identityFile, knownHosts));
  const child = spawn('ssh', ['-F', join(dir, 'config'), 'target', `echo ${READY} && exec cat`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const ended = new Promise<HopEnd>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const end = await ended;
    rmSync(dir, { recursive: true, force: true });
    return end;
  };
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${READY}" within ${o.timeoutMs ?? 60_000} ms; stderr: ${stderr}`)), o.timeoutMs ?? 60_000);
    child.stdout.on('data', () => stdout.includes(READY) && (clearTimeout(timer), resolve()));
    void ended.then((end) => (clearTimeout(timer), reject(new Error(`ssh exited (${end.signal ?? end.code}) before the session was up: ${end.stderr}`))));
  });
  try {
    await ready;
  } catch (err) {
    await close();
    throw err;
  }
  return { child, ended, close };
}

// Runs the real ssh client. `ssh -J` ignores -i/-o for the jump hop, so everything goes through a -F config.
// Every result is classified (`outcome`), so a negative test asserts WHICH refusal it saw: a dead or hung
// server must never pass for "access denied".
//
// What each outcome looks like, observed against the test sshd (OpenSSH 9.2p1 client and server, client
// LogLevel ERROR; sshd at VERBOSE):
// - ok: exit 0 (a -W tunnel: the far end's "SSH-2.0-" banner arrived, then we close it).
// - refused-command: a shell on the jump server with command="/bin/false": authentication succeeds, the forced
//   command runs instead of ours: exit 1, empty stdout and stderr (sshd logs nothing special).
// - refused-forward: -W or ProxyJump to a host:port not in permitopen: exit 255, stderr "stdio forwarding failed"
//   (ProxyJump adds "kex_exchange_identification: Connection closed by remote host"); sshd logs "…, but the
//   request was denied". Other clients say "administratively prohibited" / "open failed".
//   Caveat: a permitted target that is down gives the SAME client output; only the jump sshd's log tells
//   ("connect_to 127.0.0.1 port N: failed."), so the helpers read that log and report `unreachable` then.
//   (They read the log written since the run began: two runs through one jump server at once could read each
//   other's verdict; the tests run their ssh checks one after another.)
// - refused-auth: a key line absent, or with an expiry-time that has passed: exit 255, stderr
//   "<user>@127.0.0.1: Permission denied (publickey)." (sshd logs "Failed publickey" / "Refused by key options").
// - refused-listen: -R on the hardened jump server: exit 255, "remote port forwarding failed for listen port".
// - unreachable: nobody listening: exit 255, "ssh: connect to host 127.0.0.1 port N: Connection refused";
//   a listener that closes before the banner: "kex_exchange_identification: read: Connection reset by peer"
//   or "… Connection closed by remote host".
// - timeout: our own deadline killed ssh, or "Connection timed out during banner exchange" (a silent listener).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshdProcess } from './sshd.ts';

export type SshOutcome = 'ok' | 'refused-auth' | 'refused-forward' | 'refused-command' | 'refused-listen' | 'unreachable' | 'timeout' | 'failed';

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
  /** what happened, see the header; `failed` is anything not recognised (read stderr) */
  outcome: SshOutcome;
}

/**
 * The patterns, in the order they are tried: a refusal wins over the "connection closed" noise a ProxyJump adds
 * after it, and a timeout wins over everything (a killed ssh says nothing useful).
 */
const STDERR_PATTERNS: [SshOutcome, RegExp][] = [
  ['timeout', /Connection timed out|Operation timed out/],
  ['refused-auth', /Permission denied \(publickey/],
  ['refused-forward', /stdio forwarding failed|administratively prohibited|open failed/],
  ['refused-listen', /remote port forwarding failed/],
  ['unreachable', /Connection refused|No route to host|Network is unreachable|kex_exchange_identification|Connection reset by peer|Connection closed by remote host/],
];

/** Classifies one finished ssh run; `timedOut` means our deadline killed it. */
export function classifySsh(r: { code: number; stdout: string; stderr: string; timedOut?: boolean }): SshOutcome {
  if (r.timedOut) return 'timeout';
  if (r.code === 0) return 'ok';
  for (const [outcome, pattern] of STDERR_PATTERNS) if (pattern.test(r.stderr)) return outcome;
  if (r.code === 1 && r.stdout === '' && r.stderr === '') return 'refused-command';
  return 'failed';
}

/** For assertion messages: everything needed to see why a check failed. */
export function describeSsh(r: SshResult): string {
  return `ssh ${r.outcome} (exit ${r.code}) stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;
}

interface HostEntry {
  alias: string;
  server: SshdProcess;
  /** defaults to server.port; another port tests permitopen (the known_hosts entry follows it) */
  port?: number;
  proxyJump?: string;
}

/** Generous: the machine running the tests may be loaded; a hung server is caught by our own deadline. */
const DEFAULT_TIMEOUT_MS = 60_000;

/** One ssh_config block per host, all pinned to a known_hosts file holding exactly the servers' host keys. */
export function buildSshConfig(hosts: HostEntry[], identityFile: string, knownHostsFile: string, connectTimeoutS = 30): string {
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
        `    ConnectTimeout ${connectTimeoutS}`,
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

interface RunOptions {
  timeoutMs?: number;
  /** a tunnel that works stays open: once stdout matches, ssh is closed and the run counts as ok */
  stopWhen?: RegExp;
  /** the jump server whose log settles what "stdio forwarding failed" meant (see the header) */
  forwardingVia?: SshdProcess;
}

async function runSsh(hosts: HostEntry[], identityFile: string, args: string[], o: RunOptions = {}): Promise<SshResult> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const dir = mkdtempSync(join(tmpdir(), 'jit-ssh-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, knownHostsLines(hosts));
  const config = join(dir, 'config');
  writeFileSync(config, buildSshConfig(hosts, identityFile, knownHosts, Math.max(1, Math.floor(timeoutMs / 2000))));
  const logFrom = o.forwardingVia?.log().length ?? 0;
  try {
    const result = await new Promise<SshResult>((resolve) => {
      // stdin stays an open pipe: EOF on it would half-close a -W tunnel before the far end has spoken.
      const child = spawn('ssh', ['-F', config, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let stopped = false;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stdout.on('data', (d) => {
        stdout += d;
        if (o.stopWhen?.test(stdout) && !stopped) {
          stopped = true;
          child.kill('SIGTERM');
        }
      });
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => {
        clearTimeout(timer);
        const r = { code: stopped ? 0 : (code ?? 255), stdout, stderr, timedOut: timedOut && !stopped };
        resolve({ code: r.code, stdout, stderr, outcome: classifySsh(r) });
      });
    });
    if (result.outcome === 'refused-forward' && o.forwardingVia) result.outcome = await forwardingVerdict(o.forwardingVia, logFrom);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * sshd logs its verdict on a direct-tcpip open before the client hears of it, but our copy of its log arrives
 * through a pipe: wait for the line (a real deadline, not a guess) instead of reading once.
 */
async function forwardingVerdict(jump: SshdProcess, from: number): Promise<SshOutcome> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const log = jump.log().slice(from);
    if (/but the request was denied/.test(log)) return 'refused-forward';
    if (/connect_to \S+ port \d+: failed/.test(log)) return 'unreachable';
    if (Date.now() > deadline) return 'failed';
    await new Promise((r) => setTimeout(r, 20));
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
    { forwardingVia: o.jump },
  );
}

/** Tries to run a command on the jump server itself (a key line with command="/bin/false" must stop it). */
export function sshJumpShell(o: { jump: SshdProcess; identityFile: string; command?: string; timeoutMs?: number }): Promise<SshResult> {
  return runSsh([{ alias: 'jump', server: o.jump }], o.identityFile, ['jump', o.command ?? 'echo shell-ok'], { timeoutMs: o.timeoutMs });
}

/**
 * Tries `ssh -W host:port` through the jump server (permitopen must refuse anything not granted).
 * `ok` once the far end's SSH banner arrived (the tunnel would otherwise stay open); its stdout holds the banner.
 */
export function sshTunnel(o: { jump: SshdProcess; identityFile: string; toHost: string; toPort: number }): Promise<SshResult> {
  return runSsh([{ alias: 'jump', server: o.jump }], o.identityFile, ['-W', `${o.toHost}:${o.toPort}`, 'jump'], {
    stopWhen: /SSH-2\.0-/,
    forwardingVia: o.jump,
  });
}

/**
 * Tries `ssh -R` on the jump server: per-key `port-forwarding` re-enables it, so only the jump server's
 * `AllowTcpForwarding local` / `PermitListen none` stop it. With ExitOnForwardFailure a refusal ends ssh
 * with 255 before any command runs (`refused-listen`); a granted listener lets `command` run.
 */
export function sshRemoteForward(o: { server: SshdProcess; identityFile: string; command?: string }): Promise<SshResult> {
  return runSsh([{ alias: 'jump', server: o.server }], o.identityFile, [
    '-o',
    'ExitOnForwardFailure=yes',
    '-R',
    '127.0.0.1:0:127.0.0.1:9',
    'jump',
    o.command ?? 'echo forward-ok',
  ]);
}

/** A live `ssh -J` session: `cat` on the target (it ends with its tunnel, where a `sleep` would outlive it), open until the far end or the test ends it. */
export interface LiveSession {
  /** resolves once the target has run the command (the tunnel through the jump server is up) */
  ready: Promise<void>;
  /** resolves when ssh exits: how, and what it printed */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; at: number }>;
  /** whether ssh is still running */
  running(): boolean;
  /** ends it from the client side (test clean-up) */
  close(): void;
}

export function openSession(o: { jump: SshdProcess; target: SshdProcess; identityFile: string }): LiveSession {
  const hosts = [
    { alias: 'jump', server: o.jump },
    { alias: 'target', server: o.target, proxyJump: 'jump' },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'jit-session-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, knownHostsLines(hosts));
  const config = join(dir, 'config');
  writeFileSync(config, buildSshConfig(hosts, o.identityFile, knownHosts));
  const child = spawn('ssh', ['-F', config, 'target', "echo session-ready; exec cat"], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; at: number }>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stderr, at: performance.now() });
    });
  });
  child.stderr.on('data', (d) => (stderr += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('session-ready')) resolve();
    });
    void exited.then((r) => reject(new Error(`ssh session ended before it was ready: exit ${r.code} ${r.stderr}`)));
  });
  ready.catch(() => undefined);
  return { ready, exited, running: () => !done, close: () => child.kill('SIGKILL') };
}

// Real OpenSSH servers for tests: a jump server and internal hosts, each with its own config, host key and port.
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnTracked, stopProcess, waitForPort, type ServerProcessOptions } from './processes.ts';

export const SSHD = '/usr/sbin/sshd';

export interface SshdProcess {
  name: string;
  port: number;
  address: '127.0.0.1';
  dir: string;
  readonly pid: number;
  user: string;
  hostKeyPath: string;
  /** "SHA256:…" as ssh-keygen -l prints it */
  hostKeyFingerprint: string;
  /** "ssh-ed25519 AAAA…" for known_hosts */
  hostPublicKey: string;
  authorizedKeysPath: string;
  readAuthorizedKeys(): string;
  writeAuthorizedKeys(text: string): void;
  log(): string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

/** sshd forks a process per connection; stopping the listener alone leaves those sessions up. */
function killSessions(child: ChildProcess): void {
  if (!child.pid) return;
  try {
    execFileSync('pkill', ['-KILL', '-P', String(child.pid)], { stdio: 'ignore' });
  } catch {
    /* no sessions */
  }
}

export function generateUserKey(dir: string, name = 'id_ed25519'): { privateKeyPath: string; publicKey: string } {
  const privateKeyPath = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', privateKeyPath]);
  return { privateKeyPath, publicKey: readFileSync(`${privateKeyPath}.pub`, 'utf8').trim() };
}

let sshdVersion: [number, number] | undefined;
function opensshVersion(): [number, number] {
  if (!sshdVersion) {
    let text = '';
    try {
      execFileSync(SSHD, ['-V'], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      text = String((err as { stderr?: Buffer }).stderr ?? '');
    }
    const m = /OpenSSH_(\d+)\.(\d+)/.exec(text) ?? /OpenSSH_(\d+)\.(\d+)/.exec(execFileSync('ssh', ['-V'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString());
    sshdVersion = m ? [Number(m[1]), Number(m[2])] : [9, 2];
  }
  return sshdVersion;
}

export async function startSshd(
  opts: {
    name: string;
    role: 'jump' | 'internal';
    authorizedKeysContent?: string;
    /** another sshd binary (tests: one that announces an older version) */
    binary?: string;
    /** lines added to the generated sshd_config */
    extraConfig?: string[];
  } & ServerProcessOptions,
): Promise<SshdProcess> {
  const dir = mkdtempSync(join(opts.parentDir ?? tmpdir(), `jit-sshd-${opts.name}-`));
  const port = await freePort();
  const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${opts.name}-host`, '-f', hostKeyPath]);
  const hostPublicKey = readFileSync(`${hostKeyPath}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const hostKeyFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKeyPath}.pub`]).toString().split(' ')[1]!;
  const authorizedKeysPath = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeysPath, opts.authorizedKeysContent ?? '', { mode: 0o600 });
  const [major, minor] = opensshVersion();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKeyPath}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeysPath}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'LogLevel VERBOSE',
    'MaxStartups 100',
    'Subsystem sftp internal-sftp',
    ...(major > 9 || (major === 9 && minor >= 8) ? ['PerSourcePenalties no'] : []),
    // The hardening DESIGN.md asks of every jump server: per-key options cannot forbid remote forwarding.
    ...(opts.role === 'jump'
      ? ['AllowTcpForwarding local', 'PermitListen none', 'AllowStreamLocalForwarding no', 'X11Forwarding no', 'AllowAgentForwarding no', 'PermitTunnel no']
      : []),
    ...(opts.extraConfig ?? []),
  ].join('\n');
  const configPath = join(dir, 'sshd_config');
  writeFileSync(configPath, `${config}\n`);
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let child: ChildProcess;
  let log = '';
  const launch = async () => {
    child = spawnTracked(opts.binary ?? SSHD, ['-D', '-e', '-f', configPath], { detached: opts.ownProcessGroup });
    child.stderr?.on('data', (d) => (log += d));
    child.stdout?.on('data', (d) => (log += d));
    try {
      await waitForPort(port, 'SSH-2.0-');
    } catch (err) {
      throw new Error(`sshd ${opts.name} did not start: ${log}`, { cause: err });
    }
  };
  await launch();
  return {
    name: opts.name,
    port,
    address: '127.0.0.1',
    dir,
    get pid() {
      return child.pid ?? -1;
    },
    user: userInfo().username,
    hostKeyPath,
    hostKeyFingerprint,
    hostPublicKey,
    authorizedKeysPath,
    readAuthorizedKeys: () => readFileSync(authorizedKeysPath, 'utf8'),
    writeAuthorizedKeys: (text) => writeFileSync(authorizedKeysPath, text, { mode: 0o600 }),
    log: () => log,
    async stop() {
      killSessions(child);
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
    // Like a crashed or rebooted server: the listener and every established session die.
    async kill9() {
      killSessions(child);
      await stopProcess(child, 'SIGKILL');
    },
    async restart() {
      killSessions(child);
      await stopProcess(child);
      await launch();
    },
  };
}

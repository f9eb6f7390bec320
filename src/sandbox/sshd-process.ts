// Real OpenSSH servers for tests: a jump server and internal hosts, each with its own config, host key and port.
// For issue #12 a jump server can also log in to a non-root account (`jumpUser`) and log through a real log daemon
// (`log`): systemd-journald or rsyslogd, started with sshd in a private mount namespace (see DESIGN.md, Connections).
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
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
  /** where the jump account reads sshd's log (only with the `log` option) */
  logSource?: SshdLogSource;
  readAuthorizedKeys(): string;
  writeAuthorizedKeys(text: string): void;
  /** sshd's output; with `log`, what the log daemon has recorded */
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

export type SshdLogKind = 'journal' | 'file';
/** Where the jump account reads sshd's log: the journal (journalctl over SSH) or a syslog file (over SFTP). */
export type SshdLogSource = { journal: true } | { file: string };

export interface SshdOptions extends ServerProcessOptions {
  name: string;
  role: 'jump' | 'internal';
  authorizedKeysContent?: string;
  /** another sshd binary (tests: one that announces an older version) */
  binary?: string;
  /** lines added to the generated sshd_config */
  extraConfig?: string[];
  /**
   * Log in to this non-root account (created when missing) instead of the running user: only a non-root login
   * gets a separate user child that the account may signal. Root only. `user` is then this account.
   */
  jumpUser?: string;
  /** log through a real daemon (journald, or rsyslogd writing a file) instead of stderr; root on Linux only */
  log?: SshdLogKind;
}

/** Runs sshd one way or the other; `halt` stops every process the run started. */
interface SshdRunner {
  readonly pid: number;
  launch(): Promise<void>;
  halt(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  log(): string;
}

export async function startSshd(opts: SshdOptions): Promise<SshdProcess> {
  checkRootOptions(opts);
  const dir = mkdtempSync(join(opts.parentDir ?? tmpdir(), `jit-sshd-${opts.name}-`));
  const port = await freePort();
  const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${opts.name}-host`, '-f', hostKeyPath]);
  const hostPublicKey = readFileSync(`${hostKeyPath}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const hostKeyFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKeyPath}.pub`]).toString().split(' ')[1]!;
  const account = opts.jumpUser ? await jumpAccount(opts.jumpUser, opts.log && LOG_DAEMONS[opts.log].group, dir) : undefined;
  const authorizedKeysPath = account ? join(account.dir, 'authorized_keys') : join(dir, 'authorized_keys');
  const writeAuthorizedKeys = (text: string) => {
    writeFileSync(authorizedKeysPath, text, { mode: 0o600 });
    if (account) chownSync(authorizedKeysPath, account.uid, account.gid);
  };
  writeAuthorizedKeys(opts.authorizedKeysContent ?? '');
  const configPath = join(dir, 'sshd_config');
  writeFileSync(configPath, `${sshdConfig(opts, { port, dir, hostKeyPath, authorizedKeysPath })}\n`);
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const where = { name: opts.name, dir, port, configPath, binary: opts.binary ?? SSHD, detached: opts.ownProcessGroup };
  const runner = opts.log ? loggedRunner({ ...where, kind: opts.log }) : plainRunner(where);
  try {
    await runner.launch();
  } catch (err) {
    if (opts.log) rmSync(dir, { recursive: true, force: true }); // its processes are stopped already
    throw err;
  }
  return {
    name: opts.name,
    port,
    address: '127.0.0.1',
    dir,
    get pid() {
      return runner.pid;
    },
    user: opts.jumpUser ?? userInfo().username,
    hostKeyPath,
    hostKeyFingerprint,
    hostPublicKey,
    authorizedKeysPath,
    ...(opts.log ? { logSource: logSourceOf(opts.log, dir) } : {}),
    readAuthorizedKeys: () => readFileSync(authorizedKeysPath, 'utf8'),
    writeAuthorizedKeys,
    log: () => runner.log(),
    async stop() {
      await runner.halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    // Like a crashed or rebooted server: the listener and every established session die.
    async kill9() {
      await runner.halt('SIGKILL');
    },
    async restart() {
      await runner.halt('SIGTERM');
      await runner.launch();
    },
  };
}

function sshdConfig(opts: SshdOptions, at: { port: number; dir: string; hostKeyPath: string; authorizedKeysPath: string }): string {
  const [major, minor] = opensshVersion();
  return [
    `Port ${at.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${at.hostKeyPath}`,
    `PidFile ${join(at.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${at.authorizedKeysPath}`,
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
    // Allowed direct-tcpip targets are logged only with this (DESIGN.md, Connections).
    ...(opts.log ? ['SyslogFacility AUTH', 'LogVerbose serverloop.c:server_request_direct_tcpip():*'] : []),
    ...(opts.extraConfig ?? []),
  ].join('\n');
}

/** sshd with -e: its log is its stderr. */
function plainRunner(o: { name: string; port: number; configPath: string; binary: string; detached?: boolean }): SshdRunner {
  let child: ChildProcess | undefined;
  let log = '';
  return {
    get pid() {
      return child?.pid ?? -1;
    },
    async launch() {
      const started = spawnTracked(o.binary, ['-D', '-e', '-f', o.configPath], { detached: o.detached });
      child = started;
      started.stderr?.on('data', (d) => (log += d));
      started.stdout?.on('data', (d) => (log += d));
      try {
        await waitForPort(o.port, 'SSH-2.0-');
      } catch (err) {
        throw new Error(`sshd ${o.name} did not start: ${log}`, { cause: err });
      }
    },
    async halt(signal) {
      if (!child) return;
      killSessions(child);
      await stopProcess(child, signal);
    },
    log: () => log,
  };
}

// ---- logging through a real daemon (issue #12) ----

const LOG_DAEMONS = {
  journal: { binary: '/lib/systemd/systemd-journald', package: 'systemd', group: 'systemd-journal' },
  file: { binary: '/usr/sbin/rsyslogd', package: 'rsyslog', group: 'adm' },
} as const;

/** The new options create accounts and mount file systems: say plainly what is missing instead of failing later. */
function checkRootOptions(opts: SshdOptions): void {
  const asked = [opts.jumpUser ? `jumpUser: '${opts.jumpUser}'` : '', opts.log ? `log: '${opts.log}'` : ''].filter(Boolean);
  if (asked.length === 0) return;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    const daemon = opts.log ? `, mounts a private /dev and /run (unshare -m) and runs ${LOG_DAEMONS[opts.log].binary}` : '';
    throw new Error(`startSshd({ ${asked.join(', ')} }) needs root on Linux: it creates the account with useradd${daemon}; run as root or leave these options out`);
  }
  if (opts.jumpUser === 'root') throw new Error("startSshd: jumpUser must be a non-root account (a root login gets no separate user child)");
  const daemon = opts.log && LOG_DAEMONS[opts.log];
  if (daemon && !existsSync(daemon.binary)) {
    throw new Error(`startSshd({ log: '${opts.log}' }) needs ${daemon.binary}: install it with: apt-get install -y ${daemon.package}`);
  }
}

function logSourceOf(kind: SshdLogKind, dir: string): SshdLogSource {
  return kind === 'journal' ? { journal: true } : { file: join(dir, 'syslog', 'auth.log') };
}

interface JumpAccount {
  uid: number;
  gid: number;
  /** owned by the account: the broker replaces authorized_keys there with write-temp-then-rename */
  dir: string;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

function accountExists(user: string): boolean {
  try {
    run('id', ['-u', user]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `act` until `done()` holds. Two test files may create the same account at once: useradd/usermod then fail
 * on the lock of /etc/passwd, or because the other one was first; the condition, not the exit code, decides.
 */
async function until(done: () => boolean, act: () => void): Promise<void> {
  let last: unknown;
  for (let attempt = 1; attempt <= 20; attempt++) {
    if (done()) return;
    try {
      act();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 25 * attempt));
    }
  }
  if (!done()) throw new Error(`startSshd: could not set up the jump account: ${String((last as { stderr?: Buffer })?.stderr ?? last)}`);
}

/** The jump account (created when missing, unlocked, in the group that reads the log) and a directory it owns. */
async function jumpAccount(user: string, logGroup: string | undefined, dir: string): Promise<JumpAccount> {
  await until(() => accountExists(user), () => run('useradd', ['-m', '-s', '/bin/sh', user]));
  // useradd leaves the password "!": sshd (without PAM) refuses such an account as locked; "*" only bars passwords.
  const locked = () => (run('getent', ['shadow', user]).split(':')[1] ?? '').startsWith('!');
  await until(() => !locked(), () => run('usermod', ['-p', '*', user]));
  if (logGroup) await until(() => run('id', ['-nG', user]).split(' ').includes(logGroup), () => run('usermod', ['-a', '-G', logGroup, user]));
  const uid = Number(run('id', ['-u', user]));
  const gid = Number(run('id', ['-g', user]));
  // The account reaches its directory (and the log file) through ours: searchable, not listable.
  chmodSync(dir, 0o711);
  assertSearchable(dir);
  const own = join(dir, 'account');
  mkdirSync(own, { mode: 0o700 });
  chownSync(own, uid, gid);
  return { uid, gid, dir: own };
}

function assertSearchable(dir: string): void {
  for (let p = dirname(dir); ; p = dirname(p)) {
    const mode = statSync(p).mode;
    if (!(mode & 0o001)) throw new Error(`startSshd: the jump account cannot reach ${dir}: ${p} has mode ${(mode & 0o777).toString(8)}; use a parentDir others may search`);
    if (p === dirname(p)) return;
  }
}

/**
 * Runs inside `unshare -m --propagation private` (as root), so nothing here is seen outside: sshd's syslog(3)
 * writes only to /dev/log, so /dev becomes a small copy whose `log` is the daemon's socket, and /run becomes
 * "$D/run" (the daemon's sockets, the runtime journal, sshd's privilege separation directory). sshd replaces the
 * shell, so the daemon ends up sshd's child; the fixture stops it by the pid written to "$D/daemon.pid", and
 * --pdeathsig stops it should sshd die first (a SIGKILL from the exit hook in processes.ts).
 * Everything the jump account runs over SSH descends from this sshd, so its journalctl sees this journal.
 */
const NAMESPACE_SCRIPT = `set -eu
D=$1 KIND=$2 SSHD=$3 CONFIG=$4
mount -t tmpfs -o mode=0755,size=64k jit-dev "$D/dev"
for n in null zero full random urandom tty ptmx; do
  if [ -e "/dev/$n" ]; then cp -a "/dev/$n" "$D/dev/"; fi
done
mkdir "$D/dev/pts"
mount --bind /dev/pts "$D/dev/pts"
ln -s /proc/self/fd "$D/dev/fd"
mount --move "$D/dev" /dev
mount --bind "$D/run" /run
if [ "$KIND" = journal ]; then
  SOCK=/run/systemd/journal/dev-log
  # only this journal: a persistent one of the machine's stays out of journalctl's sight
  if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=0755,size=64k jit-journal /var/log/journal; fi
  if [ -f /etc/systemd/journald.conf ]; then mount --bind "$D/journald.conf" /etc/systemd/journald.conf; fi
  rm -f "$SOCK"
  setpriv --pdeathsig TERM ${LOG_DAEMONS.journal.binary} &
else
  SOCK=/run/syslog.sock
  rm -f "$SOCK"
  setpriv --pdeathsig TERM ${LOG_DAEMONS.file.binary} -n -f "$D/rsyslog.conf" -i "$D/rsyslogd.pid" &
fi
DAEMON=$!
echo "$DAEMON" > "$D/daemon.pid"
ln -s "$SOCK" /dev/log
n=0
until [ -S "$SOCK" ]; do
  n=$((n + 1))
  if [ "$n" -gt 1000 ] || ! kill -0 "$DAEMON" 2>/dev/null; then echo "the log daemon did not open $SOCK" >&2; exit 1; fi
  sleep 0.01
done
exec "$SSHD" -D -f "$CONFIG"
`;

/** Small and volatile: the journal lives in the fixture's temp dir and goes with it. */
const JOURNALD_CONF = `[Journal]
Storage=volatile
RuntimeMaxFileSize=1M
ReadKMsg=no
ForwardToSyslog=no
ForwardToWall=no
RateLimitBurst=0
`;

/**
 * sshd's lines in the traditional format (`Dec  2 12:00:00 host sshd[123]: …`), root:adm 0640 like auth.log;
 * auth-rfc3339.log gets the same lines in rsyslog's built-in format, which Debian 12's rsyslog.conf keeps.
 */
function rsyslogConf(dir: string): string {
  const file = (name: string, template: string) =>
    `auth,authpriv.* action(type="omfile" file="${join(dir, 'syslog', name)}"${template} fileCreateMode="0640" fileOwner="root" fileGroup="adm")`;
  return [
    `global(workDirectory="${join(dir, 'syslog')}")`,
    'module(load="imuxsock" SysSock.Use="off")',
    'input(type="imuxsock" Socket="/run/syslog.sock")',
    file('auth.log', ' template="RSYSLOG_TraditionalFileFormat"'),
    file('auth-rfc3339.log', ''),
    '',
  ].join('\n');
}

function groupId(name: string): number {
  return Number(run('getent', ['group', name]).split(':')[2]);
}

/** The directories the namespace script mounts and the daemon writes to. */
function prepareLogDirs(dir: string, kind: SshdLogKind): void {
  for (const d of ['dev', 'run', 'run/sshd']) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  if (kind === 'journal') {
    mkdirSync(join(dir, 'run/systemd/journal'), { recursive: true, mode: 0o755 });
    // what systemd's tmpfiles does for /run/log/journal: the group systemd-journal reads, and new files inherit it
    const journal = join(dir, 'run/log/journal');
    mkdirSync(journal, { recursive: true });
    chownSync(journal, 0, groupId('systemd-journal'));
    chmodSync(journal, 0o2755);
    writeFileSync(join(dir, 'journald.conf'), JOURNALD_CONF);
  } else {
    mkdirSync(join(dir, 'syslog'), { mode: 0o755 });
    writeFileSync(join(dir, 'rsyslog.conf'), rsyslogConf(dir));
    // present from the start, so that a reader never meets "no such file"
    for (const name of ['auth.log', 'auth-rfc3339.log']) {
      writeFileSync(join(dir, 'syslog', name), '', { mode: 0o640 });
      chownSync(join(dir, 'syslog', name), 0, groupId('adm'));
    }
  }
}

function readDaemonLog(dir: string, kind: SshdLogKind): string {
  try {
    if (kind === 'file') return readFileSync(join(dir, 'syslog', 'auth.log'), 'utf8');
    const args = ['-D', join(dir, 'run/log/journal'), '-q', '--no-pager', '-o', 'short-precise'];
    return execFileSync('journalctl', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return ''; // not started yet, or stopped and removed
  }
}

/** pid → parent pid of every process, from /proc. */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  return parents;
}

/** sshd's connections, their user children and whatever those run. */
function descendantsOf(pid: number): number[] {
  const parents = parentsByPid();
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, parent] of parents) if (parent === p) (found.push(child), queue.push(child));
  }
  return found;
}

/** True once the process is gone or a zombie (it no longer runs; its parent or init reaps it). */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitEnded(pids: number[], timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((p) => !ended(p))) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function signalEach(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Rejects when the process exits before `ready` resolves. */
function unlessExited<T>(child: ChildProcess, ready: Promise<T>): Promise<T> {
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`exited (${signal ?? code})`))));
  return Promise.race([ready, exited]);
}

/** sshd without -e in a private mount namespace, together with its log daemon. */
function loggedRunner(o: { name: string; dir: string; port: number; configPath: string; binary: string; detached?: boolean; kind: SshdLogKind }): SshdRunner {
  let child: ChildProcess | undefined;
  let output = '';
  const daemonPidFile = join(o.dir, 'daemon.pid');
  prepareLogDirs(o.dir, o.kind);
  const runner: SshdRunner = {
    get pid() {
      return child?.pid ?? -1;
    },
    async launch() {
      rmSync(daemonPidFile, { force: true });
      output = '';
      const args = ['-m', '--propagation', 'private', 'sh', '-c', NAMESPACE_SCRIPT, 'jit-sshd', o.dir, o.kind, o.binary, o.configPath];
      const started = spawnTracked('unshare', args, { detached: o.detached });
      child = started;
      started.stderr?.on('data', (d) => (output += d));
      started.stdout?.on('data', (d) => (output += d));
      try {
        await unlessExited(started, waitForPort(o.port, 'SSH-2.0-'));
      } catch (err) {
        await runner.halt('SIGKILL');
        const hint = /Operation not permitted/.test(output) ? ' (mount namespaces need root with CAP_SYS_ADMIN: a container must run privileged)' : '';
        throw new Error(`sshd ${o.name} (log: ${o.kind}) did not start${hint}: ${output}${runner.log()}`, { cause: err });
      }
    },
    async halt(signal) {
      const running = child && child.exitCode === null && child.signalCode === null ? child : undefined;
      const daemon = existsSync(daemonPidFile) ? Number(readFileSync(daemonPidFile, 'utf8')) : undefined;
      const sessions = running?.pid ? descendantsOf(running.pid).filter((p) => p !== daemon) : [];
      signalEach(sessions, 'SIGKILL');
      // The daemon first, while sshd (its parent) is there to reap it.
      if (daemon && !ended(daemon)) {
        signalEach([daemon], 'SIGTERM');
        if (!(await waitEnded([daemon]))) signalEach([daemon], 'SIGKILL');
        await waitEnded([daemon]);
      }
      rmSync(daemonPidFile, { force: true }); // its pid may be reused: never signal it again
      if (running) await stopProcess(running, signal);
      await waitEnded(sessions);
    },
    log: () => readDaemonLog(o.dir, o.kind),
  };
  return runner;
}

// Redis and OpenSSH come from the operating system. When they are missing: install them with apt-get when we
// may (root, or passwordless sudo), otherwise stop with the exact command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export type SystemNeed = 'redis' | 'sshd' | 'chromium' | 'journald' | 'rsyslog' | 'cc';

const PACKAGES: Record<SystemNeed, { debian: string[]; mac: string; present: () => boolean }> = {
  redis: { debian: ['redis-server'], mac: 'brew install redis', present: () => onPath('redis-server') },
  sshd: {
    debian: ['openssh-server', 'openssh-client'],
    mac: 'sshd and ssh ship with macOS',
    present: () => isExecutable('/usr/sbin/sshd') && onPath('ssh') && onPath('ssh-keygen'),
  },
  chromium: { debian: ['chromium'], mac: 'brew install --cask chromium', present: () => onPath('chromium') },
  // The log daemons of the jump server whose log the broker reads (issue #12): tests run them as root on Linux.
  journald: {
    debian: ['systemd'],
    mac: 'journald is Linux only',
    present: () => isExecutable('/lib/systemd/systemd-journald') && onPath('journalctl'),
  },
  rsyslog: { debian: ['rsyslog'], mac: 'rsyslogd is not needed on macOS', present: () => isExecutable('/usr/sbin/rsyslogd') },
  // The live-session tests build an LD_PRELOAD shim that holds back one sshd log line (Linux, as root).
  cc: { debian: ['gcc', 'libc6-dev'], mac: 'xcode-select --install', present: () => onPath('cc') || onPath('gcc') },
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && isExecutable(join(dir, command)));
}

export interface InstallPlan {
  missing: SystemNeed[];
  packages: string[];
  /** the one line shown to a person who has to install by hand */
  manualMessage: string;
}

/** Pure: what is missing and what to tell someone who must install it themselves. */
export function planInstall(needs: readonly SystemNeed[], present: (need: SystemNeed) => boolean): InstallPlan {
  const missing = [...new Set(needs)].filter((n) => !present(n));
  const packages = missing.flatMap((n) => PACKAGES[n].debian);
  const names = missing.map((n) => (n === 'redis' ? 'redis-server' : n)).join(', ');
  const mac = missing.map((n) => PACKAGES[n].mac).join('; ');
  return {
    missing,
    packages,
    manualMessage: missing.length
      ? `missing ${names}: install with: sudo apt-get install -y ${packages.join(' ')} (macOS: ${mac})`
      : '',
  };
}

function canInstall(): 'root' | 'sudo' | undefined {
  if (process.getuid?.() === 0) return 'root';
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
  return sudo.status === 0 ? 'sudo' : undefined;
}

export async function ensureSystemPackages(needs: readonly SystemNeed[], log: (line: string) => void): Promise<void> {
  const plan = planInstall(needs, (n) => PACKAGES[n].present());
  if (plan.missing.length === 0) return;
  const how = onPath('apt-get') ? canInstall() : undefined;
  if (!how) throw new Error(plan.manualMessage);
  log(`installing ${plan.packages.join(' ')} with apt-get (running as ${how === 'root' ? 'root' : 'a user with passwordless sudo'})`);
  const prefix = how === 'sudo' ? ['sudo', '-n'] : [];
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...prefix, ...args];
    execFileSync(cmd!, rest, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...plan.packages]);
  const still = planInstall(needs, (n) => PACKAGES[n].present());
  if (still.missing.length) throw new Error(`apt-get finished but ${still.missing.join(', ')} is still missing`);
}

// scripts/bootstrap-jump-server.sh against a temp root (--root) and a real sshd that reads the root's sshd_config
// (which Includes the drop-in the script writes), with a real account it creates. Root only (useradd, chown).
// Proof: --dry-run changes nothing; a first run sets everything up and reloads sshd; the broker's check-config
// and a real `ssh -J` work through it while `-R` is refused; a second run reports no change and changes no byte,
// mtime or account; a drop-in that sshd -t rejects is rolled back; --log file means group adm; usage errors exit 2.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { jumpHostSchema } from '../../src/config/policy.ts';
import { freePort, spawnTracked, stopProcess, waitForPort } from '../../src/sandbox/processes.ts';
import { jitJump } from '../support/cli.ts';
import { generateUserKey, SSHD } from '../support/sshd.ts';

const SCRIPT = 'scripts/bootstrap-jump-server.sh';
/** an account of its own: the test creates it through the script and deletes it at the end */
const ACCOUNT = 'jitbootstrap';
const isRoot = process.getuid?.() === 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function script(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => { // 'close': after the output streams ended ('exit' may come first)
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function accountState(): string {
  try {
    return `${sh('getent', ['passwd', ACCOUNT]).trim()} groups=${sh('id', ['-nG', ACCOUNT]).trim()}`;
  } catch {
    return 'no account';
  }
}

/**
 * Every file and directory under `dir` (but run/: sshd rewrites its pid file): mode, owner, mtime, bytes, and the
 * account. `dirMtimes: false` leaves out the directories' mtimes (a rolled-back write still touched its directory).
 */
function snapshot(dir: string, { dirMtimes = true } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    const s = lstatSync(p);
    const bytes = s.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : '';
    out.set(p, `${s.mode.toString(8)} ${s.uid}:${s.gid} ${s.isDirectory() && !dirMtimes ? '' : s.mtimeMs} ${bytes}`);
    if (s.isDirectory()) for (const n of readdirSync(p)) if (p !== dir || n !== 'run') walk(join(p, n));
  };
  walk(dir);
  out.set('account', accountState());
  return out;
}

const linesOf = (text: string, prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix));

describe('scripts/bootstrap-jump-server.sh', { skip: isRoot ? false : 'needs root: it creates an account and chowns its files' }, () => {
  let root: string;
  let client: string;
  let port: number;
  let sshd: ChildProcess;
  let sshdLog = '';
  let broker: { privateKeyPath: string; publicKey: string };
  let engineer: { privateKeyPath: string; publicKey: string };
  let args: string[];
  /** the jumpHosts entry the first run printed */
  let snippet: Record<string, unknown> | undefined;
  /** args with one option's value replaced */
  const withArg = (flag: string, value: string) => args.map((a, i) => (args[i - 1] === flag ? value : a));
  const home = () => join(root, 'home', ACCOUNT);
  const dropIn = () => join(root, 'etc/ssh/sshd_config.d/jit-jump.conf');
  const authorizedKeys = () => join(home(), '.ssh/authorized_keys');
  // sshd -e ends its lines with \r\n
  const count = (re: RegExp) => sshdLog.split(/\r?\n/).filter((l) => re.test(l)).length;
  /** Resolves when sshd's output has `n` lines matching `re` (sshd logs with -e to stderr). */
  const sshdLogged = (re: RegExp, n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not log ${n}× ${re}: ${sshdLog}`)), 30_000);
      const check = () => {
        if (count(re) < n) return;
        clearTimeout(timer);
        sshd.stderr!.off('data', check);
        resolve();
      };
      sshd.stderr!.on('data', check);
      check();
    });
  const ssh = (extra: string[]) =>
    new Promise<Run>((resolve) => {
      const child = spawn('ssh', ['-F', join(client, 'ssh_config'), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
    });

  before(async () => {
    try {
      sh('userdel', [ACCOUNT]); // left over by a run that was killed
    } catch {
      /* none */
    }
    // Searchable by the account, which reaches its home and (for check-config) sshd_config through it.
    root = mkdtempSync(join(tmpdir(), 'jit-bootstrap-'));
    chmodSync(root, 0o755);
    client = mkdtempSync(join(tmpdir(), 'jit-bootstrap-client-'));
    for (const d of ['etc/ssh/sshd_config.d', 'etc/ssh/other.d', 'run', 'home']) mkdirSync(join(root, d), { recursive: true });
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bootstrap-host', '-f', join(root, 'etc/ssh/ssh_host_ed25519_key')]);
    broker = generateUserKey(client, 'broker');
    engineer = generateUserKey(client, 'engineer');
    port = await freePort();
    // Debian's layout: the drop-in directory Included first; no Subsystem (the script adds one) and LogLevel
    // INFO after the Include (the drop-in's VERBOSE must win). StrictModes stays on: sshd checks what it made.
    writeFileSync(
      join(root, 'etc/ssh/sshd_config'),
      [
        `Include ${root}/etc/ssh/sshd_config.d/*.conf`,
        `Include ${root}/etc/ssh/other.d/*.conf`,
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${root}/etc/ssh/ssh_host_ed25519_key`,
        `PidFile ${root}/run/sshd.pid`,
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'LogLevel INFO',
        '',
      ].join('\n'),
    );
    sshd = spawnTracked(SSHD, ['-D', '-e', '-f', join(root, 'etc/ssh/sshd_config')]);
    sshd.stderr!.on('data', (d) => (sshdLog += d));
    await waitForPort(port, 'SSH-2.0-', 30_000);
    args = ['--root', root, '--user', ACCOUNT, '--home', home(), '--broker-key', `${broker.privateKeyPath}.pub`, '--broker-from', '127.0.0.1', '--name', 'bastion', '--address', '127.0.0.1'];
  });

  after(async () => {
    if (sshd) await stopProcess(sshd);
    try {
      sh('userdel', [ACCOUNT]);
    } catch {
      /* never created */
    }
    rmSync(root, { recursive: true, force: true });
    rmSync(client, { recursive: true, force: true });
  });

  it('--dry-run lists what it would do and changes nothing', async () => {
    const before = snapshot(root);
    const r = await script([...args, '--dry-run']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(linesOf(r.stdout, 'would: ').length, 5, r.stdout);
    assert.match(r.stdout, /^would: create account jitbootstrap \(home .*, shell \/bin\/sh, no password\)$/m);
    assert.match(r.stdout, /^dry run: 5 change\(s\) would be made, none made$/m);
    assert.deepEqual(snapshot(root), before);
    assert.equal(accountState(), 'no account');
    assert.equal(count(/Received SIGHUP/), 0);
  });

  it('a first run creates the account, its keys file and the drop-in, reloads sshd and prints the host key ssh-keyscan sees', async () => {
    const r = await script(args);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^done: 5 change\(s\)$/m);
    assert.match(r.stdout, /^changed: reloaded sshd \(SIGHUP to pid \d+ from .*\/run\/sshd\.pid\)$/m);
    await sshdLogged(new RegExp(`Server listening on 127\\.0\\.0\\.1 port ${port}`), 2);

    assert.match(accountState(), new RegExp(`^${ACCOUNT}:x:\\d+:\\d+::${home()}:/bin/sh groups=.*\\bsystemd-journal\\b`));
    const uid = Number(sh('id', ['-u', ACCOUNT]));
    for (const [path, mode] of [[join(home(), '.ssh'), 0o700], [authorizedKeys(), 0o600]] as const) {
      const s = statSync(path);
      assert.equal(s.mode & 0o777, mode, path);
      assert.equal(s.uid, uid, path);
    }
    const [type, body] = broker.publicKey.split(' ');
    assert.equal(readFileSync(authorizedKeys(), 'utf8'), `from="127.0.0.1",restrict ${type} ${body} jit-jump-broker\n`);
    const conf = readFileSync(dropIn(), 'utf8');
    assert.match(conf, new RegExp(`^Match User ${ACCOUNT}\\n\\tAllowTcpForwarding local\\n\\tPermitListen none\\n\\tAllowStreamLocalForwarding no\\n\\tX11Forwarding no\\n\\tAllowAgentForwarding no\\n\\tPermitTunnel no\\n$`, 'm'));
    assert.match(conf, /^LogLevel VERBOSE$/m);
    assert.match(conf, /^Subsystem sftp internal-sftp$/m);

    const scanned = sh('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), '127.0.0.1']);
    writeFileSync(join(client, 'known_hosts'), scanned);
    const scannedFingerprint = sh('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(client, 'known_hosts')]).split(' ')[1]!;
    assert.match(r.stdout, new RegExp(`^host key: ${scannedFingerprint.replace(/[+/]/g, '\\$&')} \\(`, 'm'));
    snippet = (parse(r.stdout.slice(r.stdout.indexOf('policy snippet')).split('\n').slice(1).join('\n')) as Record<string, unknown>[])[0];
    const jh = jumpHostSchema.parse(snippet);
    assert.deepEqual(
      { name: jh.name, address: jh.address, port: jh.port, user: jh.user, hostKey: jh.hostKey, sshdLog: jh.sshdLog },
      { name: 'bastion', address: '127.0.0.1', port, user: ACCOUNT, hostKey: scannedFingerprint, sshdLog: { journal: true } },
    );
  });

  it("the broker's check-config passes with the printed snippet, and a real ssh -J works through the account while -R is refused", async () => {
    assert.ok(snippet, 'the first run printed a policy snippet');
    // The test's sshd logs to stderr, not to the journal: the log check is someone else's test.
    const { sshdLog: _journal, ...entry } = snippet;
    const policy = {
      auditChannel: 'C0AUDIT',
      jumpHosts: [{ ...entry, privateKeyPath: broker.privateKeyPath }],
      hosts: [{ name: 'db', address: '127.0.0.1', port, jumpHost: 'bastion', owners: ['U0ALICE'] }],
    };
    writeFileSync(join(client, 'policy.yaml'), stringify(policy));
    const check = await jitJump(['check-config', '--config', join(client, 'policy.yaml'), '--sshd-config', join(root, 'etc/ssh/sshd_config')]);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /ok {4}jumpHosts bastion: .* host key SHA256:\S+ matches/);
    assert.ok(check.out.includes(`sshd forwarding hardening for ${ACCOUNT}: AllowTcpForwarding local, PermitListen none, AllowStreamLocalForwarding no`), check.out);
    // VERBOSE (the drop-in's, over the main file's INFO): what the broker's connection reports read.
    const brokerFp = sh('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${broker.privateKeyPath}.pub`]).split(' ')[1]!;
    await sshdLogged(new RegExp(`Accepted publickey for ${ACCOUNT} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519 ${brokerFp.replace(/[+/]/g, '\\$&')}$`), 1);
    await sshdLogged(/User child is on pid \d+$/, 1);

    // A grant's line in the managed block, as the broker renders it.
    const [type, body] = engineer.publicKey.split(' ');
    const block = `# BEGIN jit-jump managed block: do not edit (generation 1)\nrestrict,port-forwarding,permitopen="127.0.0.1:${port}",command="/bin/false" ${type} ${body} jit:g1\n# END jit-jump managed block\n`;
    writeFileSync(authorizedKeys(), readFileSync(authorizedKeys(), 'utf8') + block);
    const common = `  HostName 127.0.0.1\n  Port ${port}\n  User ${ACCOUNT}\n  IdentitiesOnly yes\n  BatchMode yes\n  StrictHostKeyChecking yes\n  UserKnownHostsFile ${join(client, 'known_hosts')}\n`;
    writeFileSync(
      join(client, 'ssh_config'),
      `Host jump\n${common}  IdentityFile ${engineer.privateKeyPath}\nHost target\n${common}  IdentityFile ${broker.privateKeyPath}\n  ProxyJump jump\n`,
    );
    const hop = await ssh(['target', 'echo', 'through-the-jump']);
    assert.equal(hop.code, 0, hop.stderr);
    assert.equal(hop.stdout, 'through-the-jump\n');
    // The key line's port-forwarding would allow -R; the drop-in's PermitListen none refuses it.
    const remote = await ssh(['-N', '-o', 'ExitOnForwardFailure=yes', '-R', '127.0.0.1:0:127.0.0.1:9', 'jump']);
    assert.equal(remote.code, 255, remote.stderr);
    assert.match(remote.stderr, /remote port forwarding failed/);
  });

  it('a second run reports no change and changes no byte, mtime, mode or account (the managed block stays)', async () => {
    const before = snapshot(root);
    const reloads = count(/Received SIGHUP/);
    const r = await script(args);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(linesOf(r.stdout, 'changed: ').length, 0, r.stdout);
    assert.match(r.stdout, /^nothing to change: already as wanted$/m);
    assert.match(r.stdout, /^ok: sshd -T applies the hardening and VERBOSE logging to jitbootstrap$/m);
    assert.deepEqual(snapshot(root), before);
    assert.match(readFileSync(authorizedKeys(), 'utf8'), /jit:g1\n# END jit-jump managed block\n$/);
    assert.equal(count(/Received SIGHUP/), reloads);
  });

  it('a drop-in that sshd -t rejects is rolled back: exit 1, one line, the previous drop-in byte for byte, no reload', async () => {
    // An operator's edit (no Subsystem line in the drop-in) and an sftp subsystem in a file the script does not
    // scan: the drop-in it writes defines sftp a second time, which sshd -t refuses.
    const edited = readFileSync(dropIn(), 'utf8').replace('Subsystem sftp internal-sftp\n', '');
    writeFileSync(dropIn(), edited);
    writeFileSync(join(root, 'etc/ssh/other.d/sftp.conf'), 'Subsystem sftp internal-sftp\n');
    const before = snapshot(root, { dirMtimes: false });
    const reloads = count(/Received SIGHUP/);
    const r = await script(args);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: sshd -t rejects .*sshd_config with the new drop-in: .*Subsystem 'sftp' already defined.*; restored the previous drop-in and changed nothing else$/m);
    assert.equal(readFileSync(dropIn(), 'utf8'), edited);
    assert.deepEqual(snapshot(root, { dirMtimes: false }), before);
    assert.equal(count(/Received SIGHUP/), reloads);

    unlinkSync(join(root, 'etc/ssh/other.d/sftp.conf'));
    const fixed = await script(args);
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.match(fixed.stdout, /^changed: wrote .*jit-jump\.conf \(validated with sshd -t and sshd -T\)$/m);
    await sshdLogged(/Received SIGHUP/, reloads + 1);
  });

  it('a new --broker-from rewrites the broker line in place, never twice, and keeps the block', async () => {
    const r = await script(withArg('--broker-from', '127.0.0.1,10.1.2.3'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^changed: rewrote the broker's line in .*authorized_keys/m);
    const lines = readFileSync(authorizedKeys(), 'utf8').split('\n');
    assert.equal(lines.filter((l) => l.includes(broker.publicKey.split(' ')[1]!)).length, 1);
    assert.match(lines[0]!, /^from="127\.0\.0\.1,10\.1\.2\.3",restrict ssh-ed25519 /);
    assert.match(lines[1]!, /^# BEGIN jit-jump managed block/);
  });

  it('--log file puts the account in group adm and the snippet reads the file', async () => {
    const r = await script([...args, '--log', 'file', '--log-file', '/var/log/jit-bootstrap-test.log']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^changed: added jitbootstrap to group adm /m);
    assert.match(r.stderr, new RegExp(`^warn: no file ${root}/var/log/jit-bootstrap-test\\.log \\(--log file\\)`, 'm'));
    assert.match(accountState(), /\badm\b/);
    assert.match(r.stdout, /^ {4}sshdLog: \{ file: \/var\/log\/jit-bootstrap-test\.log \}$/m);
  });

  it('refuses bad input with exit 2 and a missing account under --no-useradd with exit 1, changing nothing', async () => {
    const before = snapshot(root);
    const refused = [
      [['--frobnicate'], /unknown argument: --frobnicate/],
      [args.filter((a, i) => a !== '--broker-from' && args[i - 1] !== '--broker-from'), /--broker-from ADDR is required/],
      [withArg('--broker-from', '127.0.0.1" ,command="/bin/sh'), /--broker-from: not a comma-separated list/],
      [withArg('--broker-key', broker.privateKeyPath), /is a PRIVATE key; pass the \.pub file/],
      [withArg('--user', 'root'), /--user must not be root/],
      [[...args, '--log', 'syslog'], /--log must be journal or file/],
    ] as const;
    for (const [argv, message] of refused) {
      const r = await script([...argv]);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const missing = await script([...withArg('--user', 'jitbootnobody'), '--no-useradd']);
    assert.equal(missing.code, 1, missing.stdout + missing.stderr);
    assert.match(missing.stderr, /account jitbootnobody does not exist \(--no-useradd\)/);
    const help = await script(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes:\n {2}0 .*\n {2}1 .*\n(?: {5}.*\n)* {2}2 /);
    assert.deepEqual(snapshot(root), before);
  });
});

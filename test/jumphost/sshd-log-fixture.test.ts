// The fixture for issue #12: a real jump sshd that logs in to a non-root account and logs through a real log
// daemon (systemd-journald, or rsyslogd writing a file). What the broker will rely on, checked for real as the jump
// account: who connected (Accepted line with the key's fingerprint, the user child under the same pid, the tunnel
// target), and that SIGTERM from that account to the user child ends a live `ssh -J` session.
// JIT_CAPTURE_SSHD_LOG=<dir> writes the records seen here to <dir> (how test/fixtures/sshd-log/ was made).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openHopSession, type HopSession } from '../support/hop-session.ts';
import { connectAsJumpAccount, type JumpAccountConnection } from '../support/jump-account.ts';
import { descendantsOf, isRunning } from '../support/proc.ts';
import { describeSsh, sshHop, sshTunnel } from '../support/ssh-client.ts';
import { generateUserKey, startSshd, type SshdLogKind, type SshdProcess } from '../support/sshd.ts';
import { SshdLogReader, type SshdLogEntry } from '../support/sshd-log.ts';
import { lateChildLineSshd, type LateChildLineSshd } from '../support/late-child-line-sshd.ts';

const JUMP_USER = 'jitjump';
const KINDS: SshdLogKind[] = ['journal', 'file'];
const CAPTURE = process.env.JIT_CAPTURE_SSHD_LOG;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const USER_CHILD = /^User child is on pid (\d+)$/;
const DIRECT_TCPIP = /^debug1: serverloop\.c:server_request_direct_tcpip\(\):\d+ \(pid=(\d+)\): originator \S+ port \d+, target (\S+) port (\d+)$/;

/** One engineer connection as sshd logged it. */
interface LoggedConnection {
  monitor: number;
  clientPort: number;
  child: number;
  target: { host: string; port: number };
}

/** The newest connection of the key `fingerprint` whose Accepted, User child and direct-tcpip lines are all there. */
function findConnection(entries: SshdLogEntry[], fingerprint: string): LoggedConnection | undefined {
  const accepted = new RegExp(`^Accepted publickey for ${JUMP_USER} from 127\\.0\\.0\\.1 port (\\d+) ssh2: ED25519 ${escape(fingerprint)}$`);
  const found = entries.flatMap((e) => {
    const a = accepted.exec(e.message);
    const child = a && entries.filter((c) => c.pid === e.pid).map((c) => USER_CHILD.exec(c.message)).find(Boolean);
    const direct = child && entries.filter((d) => d.pid === Number(child[1])).map((d) => DIRECT_TCPIP.exec(d.message)).find(Boolean);
    if (!direct || Number(direct[1]) !== Number(child[1])) return [];
    return [{ monitor: e.pid, clientPort: Number(a[1]), child: Number(child[1]), target: { host: direct[2]!, port: Number(direct[3]) } }];
  });
  return found.at(-1);
}

function capture(file: string, lines: string[]): void {
  if (CAPTURE) appendFileSync(join(CAPTURE, file), lines.map((l) => `${l}\n`).join(''));
}

describe('startSshd with a log daemon or a jump account', () => {
  it('refuses without root, naming what it needs', async () => {
    const getuid = process.getuid;
    process.getuid = () => 1000;
    try {
      await assert.rejects(startSshd({ name: 'refused', role: 'jump', jumpUser: JUMP_USER, log: 'journal' }), (err: Error) => {
        assert.match(err.message, /needs root on Linux: it creates the account with useradd, mounts a private \/dev and \/run \(unshare -m\) and runs \/lib\/systemd\/systemd-journald/);
        return true;
      });
    } finally {
      process.getuid = getuid;
    }
  });
});

describe('a jump sshd logging through a real log daemon', { skip: process.getuid?.() !== 0 && 'needs root (useradd, mount namespaces)' }, () => {
  let dir: string;
  let engineer: { privateKeyPath: string; publicKey: string };
  let broker: { privateKeyPath: string; publicKey: string };
  let engineerFingerprint: string;
  let internal: SshdProcess;
  /** the jump sshd can hold its monitors' "User child is on pid" lines back (a C compiler builds the shim) */
  let late: LateChildLineSshd | { unavailable: string } = { unavailable: 'not built yet' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-sshd-log-'));
    late = lateChildLineSshd(mkdtempSync(join(dir, 'late-')));
    engineer = generateUserKey(dir, 'engineer');
    broker = generateUserKey(dir, 'broker');
    engineerFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${engineer.privateKeyPath}.pub`]).toString().split(' ')[1]!;
    internal = await startSshd({ name: 'log-internal', role: 'internal', authorizedKeysContent: `${engineer.publicKey}\n` });
  });
  after(async () => {
    await internal?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of KINDS) {
    describe(`log: '${kind}'`, () => {
      let jump: SshdProcess;
      let conn: JumpAccountConnection;
      let reader: SshdLogReader;
      let hop: HopSession | undefined;
      let session: LoggedConnection;

      before(async () => {
        const engineerLine = `restrict,port-forwarding,permitopen="127.0.0.1:${internal.port}",command="/bin/false" ${engineer.publicKey}`;
        const binary = 'binary' in late ? late.binary : undefined;
        jump = await startSshd({ name: `log-${kind}`, role: 'jump', jumpUser: JUMP_USER, log: kind, binary, authorizedKeysContent: `${engineerLine}\nrestrict ${broker.publicKey}\n` });
        conn = await connectAsJumpAccount(jump, broker.privateKeyPath);
        reader = new SshdLogReader(conn, jump.logSource!, () => jump.log());
      });
      after(async () => {
        await hop?.close();
        conn?.end();
        await jump?.stop();
      });

      it('runs as the jump account, with the log where that account reads it', async () => {
        assert.equal(jump.user, JUMP_USER);
        assert.deepEqual(jump.logSource, kind === 'journal' ? { journal: true } : { file: join(jump.dir, 'syslog', 'auth.log') });
        const id = await conn.exec('id -un; id -Gn');
        assert.deepEqual(id.stdout.split('\n').slice(0, 1), [JUMP_USER]);
        assert.ok(id.stdout.split('\n')[1]!.split(' ').includes(kind === 'journal' ? 'systemd-journal' : 'adm'), id.stdout);
        await reader.waitFor('"Server listening"', (es) => es.find((e) => e.message === `Server listening on 127.0.0.1 port ${jump.port}.` && e.pid === jump.pid));
      });

      it('shows who connected: Accepted with the key fingerprint, the user child under the same pid, the tunnel target', async () => {
        const from = reader.entries.length;
        hop = await openHopSession({ jump, target: internal, identityFile: engineer.privateKeyPath });
        session = await reader.waitFor(`the connection of ${engineerFingerprint}`, (es) => findConnection(es, engineerFingerprint), from);
        assert.deepEqual(session.target, { host: '127.0.0.1', port: internal.port });
        assert.notEqual(session.child, session.monitor);
        const own = reader.entries.filter((e) => e.pid === session.monitor || e.pid === session.child);
        assert.ok(own.some((e) => e.message === `Connection from 127.0.0.1 port ${session.clientPort} on 127.0.0.1 port ${jump.port} rdomain ""`));
        if (kind === 'journal') {
          const record = JSON.parse(own[0]!.raw) as Record<string, string>;
          assert.match(record.__REALTIME_TIMESTAMP!, /^\d{16}$/, 'microseconds since the epoch');
          assert.match(record.__CURSOR!, /^s=/);
        } else {
          assert.match(own[0]!.raw, new RegExp(`^[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ sshd\\[${session.monitor}\\]: `));
        }
      });

      it('lets the jump account end the session with SIGTERM to the user child; its own connection stays usable', async () => {
        const status = await conn.exec(`cat /proc/${session.child}/status /proc/${session.child}/comm`);
        assert.equal(status.code, 0, status.stderr);
        const uid = (await conn.exec('id -u')).stdout.trim();
        assert.match(status.stdout, new RegExp(`^PPid:\\t${session.monitor}$`, 'm'));
        assert.match(status.stdout, new RegExp(`^Uid:\\t${uid}\\t${uid}\\t${uid}\\t${uid}$`, 'm'), 'real, effective, saved and fs uid');
        assert.match(status.stdout, /^sshd(-session)?$/m, 'comm');

        const kill = await conn.exec(`kill -TERM ${session.child}`);
        assert.equal(kill.code, 0, kill.stderr);
        const end = await hop!.ended;
        assert.equal(end.code, 255, JSON.stringify(end));
        assert.match(end.stderr, /closed by remote host/);
        assert.equal((await conn.exec('echo still-here')).stdout, 'still-here\n');
        await hop!.close();
        hop = undefined;
        const lines = reader.entries.filter((e) => e.pid === session.monitor || e.pid === session.child).map((e) => e.raw);
        capture(kind === 'journal' ? 'journal.jsonl' : 'auth.log', lines);
        if (kind === 'file') capture('auth-rfc3339.log', sameConnection(join(jump.dir, 'syslog', 'auth-rfc3339.log'), session));
      });

      it('shows a session that ends by itself, and a refused tunnel', async () => {
        const from = reader.entries.length;
        const done = await sshHop({ jump, target: internal, identityFile: engineer.privateKeyPath });
        assert.equal(done.outcome, 'ok', describeSsh(done));
        const ended = await reader.waitFor('a finished session', (es) => {
          const c = findConnection(es, engineerFingerprint);
          return c && es.some((e) => e.pid === c.child && e.message === `Disconnected from user ${JUMP_USER} 127.0.0.1 port ${c.clientPort}`) ? c : undefined;
        }, from);
        const denied = await sshTunnel({ jump, identityFile: engineer.privateKeyPath, toHost: '127.0.0.1', toPort: 9 });
        assert.equal(denied.outcome, 'refused-forward', describeSsh(denied));
        const refused = await reader.waitFor('a refused tunnel', (es) =>
          es.find((e) => /^Received request from 127\.0\.0\.1 port \d+ to connect to host 127\.0\.0\.1 port 9, but the request was denied\.$/.test(e.message)),
        from);
        const pids = new Set([ended.monitor, ended.child, refused.pid]);
        const monitor = reader.entries.find((e) => e.message === `User child is on pid ${refused.pid}`)?.pid;
        if (monitor) pids.add(monitor);
        capture(kind === 'journal' ? 'journal-ended-denied.jsonl' : 'auth-ended-denied.log', reader.entries.filter((e) => pids.has(e.pid)).map((e) => e.raw));
      });

      it('a monitor slow to name its user child: the child’s tunnel line is logged first', async (t) => {
        if (!('binary' in late)) return t.skip(late.unavailable);
        const held = late;
        const from = reader.entries.length;
        held.hold();
        let c: { monitor: number; child: number; clientPort: number };
        try {
          hop = await openHopSession({ jump, target: internal, identityFile: engineer.privateKeyPath });
          const accepted = new RegExp(`^Accepted publickey for ${JUMP_USER} from 127\\.0\\.0\\.1 port (\\d+) ssh2: ED25519 ${escape(engineerFingerprint)}$`);
          c = await reader.waitFor('the tunnel line of a child nobody named yet', (es) => {
            const a = es.map((e) => ({ e, m: accepted.exec(e.message) })).find(({ m }) => m);
            const direct = es.find((e) => DIRECT_TCPIP.test(e.message));
            return a && direct && !es.some((e) => USER_CHILD.test(e.message)) ? { monitor: a.e.pid, child: direct.pid, clientPort: Number(a.m![1]) } : undefined;
          }, from);
        } finally {
          held.release();
        }
        const named = await reader.waitFor('the monitor’s line naming its child', (es) => es.find((e) => e.pid === c.monitor && e.message === `User child is on pid ${c.child}`), from);
        const own = reader.entries.slice(from).filter((e) => e.pid === c.monitor || e.pid === c.child);
        assert.ok(own.findIndex((e) => DIRECT_TCPIP.test(e.message)) < own.indexOf(named), 'the tunnel line first');
        await hop!.close();
        hop = undefined;
        const closedLine = new RegExp(`^(Received disconnect from|Disconnected from user ${JUMP_USER}|Connection (closed|reset) by( user ${JUMP_USER})?) 127\\.0\\.0\\.1 port ${c.clientPort}\\b`);
        await reader.waitFor('the end of the connection', (es) => es.find((e) => e.pid === c.child && closedLine.test(e.message)), from);
        const lines = reader.entries.slice(from).filter((e) => e.pid === c.monitor || e.pid === c.child).map((e) => e.raw);
        capture(kind === 'journal' ? 'journal-child-line-late.jsonl' : 'auth-child-line-late.log', lines);
        if (kind === 'file') capture('auth-rfc3339-child-line-late.log', sameConnection(join(jump.dir, 'syslog', 'auth-rfc3339.log'), { ...c, target: { host: '127.0.0.1', port: internal.port } }));
      });

      it('leaves no process behind on restart, kill9 and stop', async () => {
        conn.end();
        const first = [jump.pid, ...descendantsOf(jump.pid)];
        assert.ok(first.length >= 2, 'sshd and its log daemon');
        await jump.restart();
        assert.deepEqual(first.filter(isRunning), []);
        const listening = `Server listening on 127.0.0.1 port ${jump.port}`;
        await until('the new sshd logs through a new daemon', () => jump.log().split(listening).length - 1 === 2, () => jump.log());
        const second = [jump.pid, ...descendantsOf(jump.pid)];
        await jump.kill9();
        assert.deepEqual(second.filter(isRunning), []);
        await jump.stop();
        assert.equal(existsSync(jump.dir), false);
      });
    });
  }
});

async function until(what: string, done: () => boolean, describe: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The lines of one connection in a syslog file that holds them in another format. */
function sameConnection(file: string, c: LoggedConnection): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`sshd[${c.monitor}]: `) || l.includes(`sshd[${c.child}]: `));
}

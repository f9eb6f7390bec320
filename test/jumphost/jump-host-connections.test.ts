// The SFTP adapter against a real OpenSSH sshd.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { JumpHostConfig } from '../../src/config/policy.ts';
import { HostKeyMismatchError, JumpHostUnavailableError } from '../../src/jumphost/errors.ts';
import { JumpHostConnections } from '../../src/jumphost/jump-host-connections.ts';
import { SSHD, generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';

/**
 * The adapter's deadlines (its production default). The hang tests wait for them; they are not shortened, since
 * a shorter one would also cut off a healthy connect on a loaded machine. How long things took is printed, never
 * asserted: the assertions check what noticed the problem (a deadline, a refused connect) and what came after.
 */
const TIMEOUT_MS = 5000;

/** Every process our sshd forked (one per connection, plus privilege separation children). */
function descendants(pid: number): number[] {
  let direct: number[] = [];
  try {
    direct = execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    /* none */
  }
  return direct.flatMap((p) => [p, ...descendants(p)]);
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids)
    try {
      process.kill(p, sig);
    } catch {
      /* already gone */
    }
}

/** The identification line the server sends first, read with a bare TCP connection. */
function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let data = '';
    sock.on('data', (d) => {
      data += d.toString('latin1');
      const end = data.indexOf('\r\n');
      if (end >= 0) {
        sock.destroy();
        resolve(data.slice(0, end));
      }
    });
    sock.on('error', reject);
  });
}

const accepted = (sshd: SshdProcess) => sshd.log().split('\n').filter((l) => l.includes('Accepted publickey')).length;

describe('JumpHostConnections', () => {
  let sshd: SshdProcess;
  let jh: JumpHostConfig;
  let connections: JumpHostConnections;
  let keyDir: string;
  let privateKey: string;
  let brokerLine: string;
  const logLines: string[] = [];
  const outside = (broker: string) => `restrict ${broker}\n# someone else's line\n`;

  before(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'jit-broker-key-'));
    const key = generateUserKey(keyDir, 'broker');
    privateKey = readFileSync(key.privateKeyPath, 'utf8');
    brokerLine = key.publicKey;
    sshd = await startSshd({ name: 'jump-adapter', role: 'jump', authorizedKeysContent: outside(key.publicKey) });
    jh = {
      name: 'bastion',
      address: '127.0.0.1',
      port: sshd.port,
      user: sshd.user,
      hostKey: sshd.hostKeyFingerprint,
      privateKeyPath: key.privateKeyPath,
      authorizedKeysPath: sshd.authorizedKeysPath,
      utcExpiryOnOldServers: false,
      retired: false,
      endSessions: false,
    };
    // Debug level, captured: the logs are checked for key material at the end.
    const sink = new Writable({ write: (chunk, _enc, cb) => (logLines.push(String(chunk)), cb()) });
    connections = new JumpHostConnections({ logger: pino({ level: 'debug' }, sink), connectTimeoutMs: TIMEOUT_MS, operationTimeoutMs: TIMEOUT_MS });
  });
  after(async () => {
    await connections?.close();
    await sshd?.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('replaces the file atomically with mode 0600, returns what was there and leaves no temp file', async () => {
    const inodeBefore = statSync(sshd.authorizedKeysPath).ino;
    const result = await connections.updateAuthorizedKeys(jh, (current) => `${current}added line\n`);
    assert.equal(result.changed, true);
    assert.equal(result.before, outside(brokerLine));
    assert.equal(result.after, `${outside(brokerLine)}added line\n`);
    assert.equal(sshd.readAuthorizedKeys(), `${outside(brokerLine)}added line\n`);
    const st = statSync(sshd.authorizedKeysPath);
    assert.equal(st.mode & 0o777, 0o600);
    assert.notEqual(st.ino, inodeBefore, 'a new file was renamed over the old one');
    assert.deepEqual(readdirSync(sshd.dir).filter((f) => f.includes('.tmp')), []);
  });

  it('writes nothing when the content is unchanged', async () => {
    const st = statSync(sshd.authorizedKeysPath);
    const result = await connections.updateAuthorizedKeys(jh, (current) => current);
    assert.equal(result.changed, false);
    assert.equal(result.before, result.after);
    const st2 = statSync(sshd.authorizedKeysPath);
    assert.equal(st2.ino, st.ino);
    assert.equal(st2.mtimeMs, st.mtimeMs);
  });

  it('treats a missing file as empty and creates it with mode 0600', async () => {
    const path = join(sshd.dir, 'not-yet');
    const result = await connections.updateAuthorizedKeys({ ...jh, authorizedKeysPath: path }, (current) => `${current}first\n`);
    assert.equal(result.before, '');
    assert.equal(readFileSync(path, 'utf8'), 'first\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('reuses one connection for many sequential updates', async () => {
    await connections.updateAuthorizedKeys(jh, (c) => c); // this test's own start: a connection is up
    const connects = connections.connectCount.get('bastion');
    const logins = accepted(sshd);
    for (let i = 0; i < 50; i++) await connections.updateAuthorizedKeys(jh, (c) => c.replace(/added line.*\n/, `added line ${i}\n`));
    assert.match(sshd.readAuthorizedKeys(), /added line 49\n$/);
    assert.equal(connections.connectCount.get('bastion'), connects);
    assert.equal(accepted(sshd), logins, 'sshd saw no further login');
  });

  it('runs concurrent updates one after another: none is lost, one connection', async () => {
    const logins = accepted(sshd);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => connections.updateAuthorizedKeys(jh, (c) => `${c}concurrent ${i}\n`)),
    );
    assert.ok(results.every((r) => r.changed));
    const text = sshd.readAuthorizedKeys();
    for (let i = 0; i < 20; i++) assert.match(text, new RegExp(`^concurrent ${i}$`, 'm'));
    assert.equal(accepted(sshd), logins);
  });

  it('an update starting from what it last wrote still sees a change made on the server since: edited by hand, or rewritten to the same content', async () => {
    await connections.updateAuthorizedKeys(jh, (c) => `${c}remembered\n`);
    // Someone edits the file between two updates (the connection remembers what it wrote, not this).
    sshd.writeAuthorizedKeys(`${sshd.readAuthorizedKeys()}edited by hand\n`);
    const seen: string[] = [];
    const result = await connections.updateAuthorizedKeys(jh, (current) => (seen.push(current), current.replace('remembered\n', 'changed\n')));
    assert.match(result.before, /edited by hand\n$/, 'the result names what was really replaced');
    assert.equal(sshd.readAuthorizedKeys(), result.after);
    assert.match(result.after, /changed\nedited by hand\n$/, 'the hand edit is kept, the change made');
    assert.ok(seen.at(-1)!.includes('edited by hand'), 'the last rendering started from the file as it stood');

    // A change that renders to what was remembered: the server is still looked at, and repaired.
    sshd.writeAuthorizedKeys(sshd.readAuthorizedKeys().replace('changed\n', 'tampered\n'));
    const repaired = await connections.updateAuthorizedKeys(jh, (current) => current.replace('tampered\n', 'changed\n'));
    assert.equal(repaired.changed, true);
    assert.match(sshd.readAuthorizedKeys(), /changed\nedited by hand\n$/);
    assert.deepEqual(readdirSync(sshd.dir).filter((f) => f.includes('.tmp')), [], 'no temp file left behind');
  });

  it('reads and writes a file larger than one SFTP request byte for byte (2.5 MB, all 256 byte values)', async () => {
    const path = join(sshd.dir, 'large');
    const bytes = Buffer.alloc(2_500_003);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 11)) & 0xff;
    const content = bytes.toString('latin1');
    await connections.updateAuthorizedKeys({ ...jh, authorizedKeysPath: path }, () => content);
    assert.ok(readFileSync(path).equals(bytes), 'written byte for byte');
    const fresh = new JumpHostConnections({ logger: pino({ level: 'silent' }), connectTimeoutMs: TIMEOUT_MS, operationTimeoutMs: TIMEOUT_MS });
    try {
      const result = await fresh.updateAuthorizedKeys({ ...jh, authorizedKeysPath: path }, (current) => `${current}tail\n`);
      assert.equal(result.before.length, bytes.length, 'read whole by a connection that never wrote it');
      assert.ok(Buffer.from(result.before, 'latin1').equals(bytes), 'read byte for byte');
      assert.ok(readFileSync(path).equals(Buffer.concat([bytes, Buffer.from('tail\n')])));
    } finally {
      await fresh.close();
    }
  });

  it('reports the server version from the SSH banner', async () => {
    const v = await connections.serverVersion(jh);
    assert.equal(v?.raw, await banner(sshd.port));
    // sshd -V prints "OpenSSH_9.2, OpenSSL …" on stderr (exit 0 on 9.2; older releases exit non-zero).
    const sshdV = spawnSync(SSHD, ['-V'], { encoding: 'utf8' }).stderr;
    const m = /OpenSSH_(\d+)\.(\d+)/.exec(sshdV);
    assert.ok(m, `no version in ${sshdV}`);
    assert.deepEqual(v?.openssh, { major: Number(m[1]), minor: Number(m[2]) });
  });

  it('refuses a jump server whose host key is not the pinned one, and writes nothing', async () => {
    const other = new JumpHostConnections({ logger: pino({ level: 'silent' }) });
    const pinned = `SHA256:${'A'.repeat(43)}`;
    const content = sshd.readAuthorizedKeys();
    let called = false;
    await assert.rejects(
      other.updateAuthorizedKeys({ ...jh, hostKey: pinned }, (c) => {
        called = true;
        return `${c}evil\n`;
      }),
      (err: unknown) => {
        assert.ok(err instanceof HostKeyMismatchError);
        assert.equal(err.jumpHost, 'bastion');
        assert.equal(err.expected, pinned);
        assert.equal(err.actual, sshd.hostKeyFingerprint);
        assert.match(err.message, new RegExp(sshd.hostKeyFingerprint.replace(/[+/]/g, '\\$&')));
        return true;
      },
    );
    assert.equal(called, false);
    assert.equal(sshd.readAuthorizedKeys(), content);
    await other.close();
  });

  it('recovers by itself when the reused connection hangs', async () => {
    await connections.updateAuthorizedKeys(jh, (c) => c); // a connection to reuse
    const logins = accepted(sshd);
    const sessions = descendants(sshd.pid);
    assert.ok(sessions.length > 0, 'the broker connection has a session process');
    signal(sessions, 'SIGSTOP'); // the peer goes silent without closing: only a deadline notices
    try {
      const started = Date.now();
      const result = await connections.updateAuthorizedKeys(jh, (c) => `${c}after hang\n`);
      console.log(`hung reused connection → update done on a fresh one: ${Date.now() - started} ms (deadlines ${TIMEOUT_MS} ms)`);
      assert.equal(result.changed, true);
      assert.match(sshd.readAuthorizedKeys(), /after hang\n$/);
      assert.equal(accepted(sshd), logins + 1, 'one fresh connection');
      assert.ok(logLines.some((l) => /timed out/.test(l)), 'the operation deadline noticed the hang');
    } finally {
      signal(sessions, 'SIGCONT');
    }
  });

  it('reports a hung jump server within the deadlines and works again once it is back', async () => {
    const all = [sshd.pid, ...descendants(sshd.pid)];
    signal(all, 'SIGSTOP'); // listener too: TCP connects still succeed (backlog), but no banner comes
    try {
      const started = Date.now();
      // one operation deadline on the old connection, then one connect deadline on a fresh one: an error, not a hang
      await assert.rejects(connections.updateAuthorizedKeys(jh, (c) => `${c}x\n`), (err: unknown) => {
        assert.ok(err instanceof JumpHostUnavailableError, String(err));
        assert.match(err.message, /timed out/i);
        return true;
      });
      console.log(`hung jump server reported after ${Date.now() - started} ms (deadlines ${TIMEOUT_MS} ms)`);
    } finally {
      signal(all, 'SIGCONT');
    }
    const result = await connections.updateAuthorizedKeys(jh, (c) => `${c}after thaw\n`);
    assert.equal(result.changed, true);
  });

  it('reports a stopped jump server quickly and reconnects after its restart', async () => {
    await sshd.kill9();
    const started = Date.now();
    // Reported as the refused connect it is, not after waiting out a deadline.
    const refused = (err: unknown) => {
      assert.ok(err instanceof JumpHostUnavailableError, String(err));
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    };
    await assert.rejects(connections.updateAuthorizedKeys(jh, (c) => `${c}x\n`), refused);
    await assert.rejects(connections.serverVersion(jh), refused);
    console.log(`stopped jump server reported after ${Date.now() - started} ms`);
    await sshd.restart();
    const connects = connections.connectCount.get('bastion') ?? 0;
    const result = await connections.updateAuthorizedKeys(jh, (c) => `${c}after restart\n`);
    assert.equal(result.changed, true);
    assert.match(sshd.readAuthorizedKeys(), /after restart/);
    assert.equal(connections.connectCount.get('bastion'), connects + 1);
  });

  it('never logs key material or file content', () => {
    const logs = logLines.join('');
    assert.match(logs, /connected to jump host/);
    assert.match(logs, /authorized_keys written/);
    const privateBody = privateKey.split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const l of privateBody) assert.ok(!logs.includes(l), 'private key material in the logs');
    assert.ok(!logs.includes(brokerLine.split(' ')[1]!), 'public key in the logs');
    assert.ok(!logs.includes('concurrent 3'), 'file content in the logs');
  });
});

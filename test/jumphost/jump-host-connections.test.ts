// The SFTP adapter against a real OpenSSH sshd.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { JumpHostConfig } from '../../src/config/policy.ts';
import { HostKeyMismatchError, JumpHostUnavailableError } from '../../src/jumphost/errors.ts';
import { JumpHostConnections } from '../../src/jumphost/jump-host-connections.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../../src/sandbox/sshd-process.ts';

describe('JumpHostConnections', () => {
  let sshd: SshdProcess;
  let jh: JumpHostConfig;
  let connections: JumpHostConnections;
  const outside = (broker: string) => `restrict ${broker}\n# someone else's line\n`;
  let brokerLine: string;

  before(async () => {
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    const key = generateUserKey(dir, 'broker');
    brokerLine = key.publicKey;
    sshd = await startSshd({ name: 'jump-adapter', role: 'jump', authorizedKeysContent: outside(key.publicKey) });
    jh = {
      name: 'bastion', address: '127.0.0.1', port: sshd.port, user: sshd.user, hostKey: sshd.hostKeyFingerprint,
      privateKeyPath: key.privateKeyPath, authorizedKeysPath: sshd.authorizedKeysPath, utcExpiryOnOldServers: false,
    };
    connections = new JumpHostConnections({ logger: pino({ level: 'silent' }), connectTimeoutMs: 2000, operationTimeoutMs: 2000 });
  });
  after(async () => {
    await connections?.close();
    await sshd?.stop();
  });

  it('replaces the file atomically with mode 0600 and leaves no temp file', async () => {
    const inodeBefore = statSync(sshd.authorizedKeysPath).ino;
    const result = await connections.updateAuthorizedKeys(jh, (current) => `${current}added line\n`);
    assert.equal(result.changed, true);
    assert.equal(result.before, outside(brokerLine));
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
    const st2 = statSync(sshd.authorizedKeysPath);
    assert.equal(st2.ino, st.ino);
    assert.equal(st2.mtimeMs, st.mtimeMs);
  });

  it('reuses one connection for many updates and reports the OpenSSH version from the banner', async () => {
    const before = connections.connectCount.get('bastion') ?? 0;
    for (let i = 0; i < 50; i++) await connections.updateAuthorizedKeys(jh, (c) => c.replace(/added line.*\n/, `added line ${i}\n`));
    assert.equal(connections.connectCount.get('bastion'), before);
    const v = await connections.serverVersion(jh);
    assert.match(v?.raw ?? '', /^SSH-2\.0-OpenSSH_\d+\.\d+/);
    assert.ok(v?.openssh && v.openssh.major >= 7);
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
      (err: unknown) => err instanceof HostKeyMismatchError && err.expected === pinned && err.actual === sshd.hostKeyFingerprint,
    );
    assert.equal(called, false);
    assert.equal(sshd.readAuthorizedKeys(), content);
    await other.close();
  });

  it('reports an unreachable jump server quickly and recovers when it is back', async () => {
    await sshd.kill9();
    const started = Date.now();
    await assert.rejects(connections.updateAuthorizedKeys(jh, (c) => `${c}x\n`), JumpHostUnavailableError);
    assert.ok(Date.now() - started < 6000);
    await sshd.restart();
    const result = await connections.updateAuthorizedKeys(jh, (c) => c.replace(/added line.*\n/, 'after restart\n'));
    assert.equal(result.changed, true);
    assert.match(sshd.readAuthorizedKeys(), /after restart/);
  });
});

// The test harness itself: real sshd + real ssh show that the key line of DESIGN.md does what it claims.
// If these fail, every end-to-end test built on them proves nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeSsh, sshHop, sshJumpShell, sshRemoteForward, sshTunnel } from '../support/ssh-client.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';

const utc = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ

describe('ssh test fixtures', () => {
  let dir: string;
  let engineer: { privateKeyPath: string; publicKey: string };
  let jump: SshdProcess;
  let internal: SshdProcess;
  let other: SshdProcess;
  const keyLine = (extra = '') =>
    `restrict,port-forwarding,permitopen="127.0.0.1:${internal.port}",command="/bin/false"${extra} ${engineer.publicKey}\n`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-fixtures-'));
    engineer = generateUserKey(dir, 'engineer');
    [internal, other] = await Promise.all([
      startSshd({ name: 'internal', role: 'internal', authorizedKeysContent: `${engineer.publicKey}\n` }),
      startSshd({ name: 'other', role: 'internal', authorizedKeysContent: `${engineer.publicKey}\n` }),
    ]);
    jump = await startSshd({ name: 'jump', role: 'jump', authorizedKeysContent: keyLine() });
  });
  after(async () => {
    await Promise.all([jump?.stop(), internal?.stop(), other?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts servers with the pinned host key, in their own directory', () => {
    assert.match(jump.hostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.notEqual(jump.hostKeyFingerprint, internal.hostKeyFingerprint);
    assert.ok(jump.authorizedKeysPath.startsWith(jump.dir));
    assert.equal(jump.readAuthorizedKeys(), keyLine());
    assert.notEqual(jump.port, internal.port);
  });

  it('hops through the jump server to the permitted host', async () => {
    jump.writeAuthorizedKeys(keyLine());
    const hop = await sshHop({ jump, target: internal, identityFile: engineer.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    assert.equal(hop.stdout, 'hop-ok\n');
    assert.match(jump.log(), /Accepted publickey/);
  });

  it('runs no command on the jump server itself', async () => {
    jump.writeAuthorizedKeys(keyLine());
    const shell = await sshJumpShell({ jump, identityFile: engineer.privateKeyPath });
    // Authentication succeeds; the forced command /bin/false runs instead of ours and exits 1.
    assert.equal(shell.outcome, 'refused-command', describeSsh(shell));
    assert.equal(shell.code, 1);
    assert.equal(shell.stdout, '');
  });

  it('refuses a tunnel or a hop to anything not in permitopen', async () => {
    jump.writeAuthorizedKeys(keyLine());
    const granted = await sshTunnel({ jump, identityFile: engineer.privateKeyPath, toHost: '127.0.0.1', toPort: internal.port });
    assert.equal(granted.outcome, 'ok', describeSsh(granted));
    assert.match(granted.stdout, /^SSH-2\.0-/, 'control: the same tunnel to the permitted port works');
    const tunnel = await sshTunnel({ jump, identityFile: engineer.privateKeyPath, toHost: '127.0.0.1', toPort: other.port });
    assert.equal(tunnel.outcome, 'refused-forward', describeSsh(tunnel));
    assert.equal(tunnel.code, 255);
    assert.equal(tunnel.stdout, '');
    assert.match(tunnel.stderr, /stdio forwarding failed/);
    assert.match(jump.log(), new RegExp(`to connect to host 127\\.0\\.0\\.1 port ${other.port}, but the request was denied`));
    // permitopen is a literal match: the same host under another name is another host.
    const byName = await sshTunnel({ jump, identityFile: engineer.privateKeyPath, toHost: 'localhost', toPort: internal.port });
    assert.equal(byName.outcome, 'refused-forward', describeSsh(byName));
    const hop = await sshHop({ jump, target: other, identityFile: engineer.privateKeyPath });
    assert.equal(hop.outcome, 'refused-forward', describeSsh(hop));
    assert.doesNotMatch(hop.stdout, /hop-ok/);
  });

  it('refuses remote forwarding on the jump server, which the key options alone would allow', async () => {
    jump.writeAuthorizedKeys(keyLine());
    const control = await sshRemoteForward({ server: internal, identityFile: engineer.privateKeyPath });
    assert.equal(control.outcome, 'ok', `control: an unhardened sshd grants -R (${describeSsh(control)})`);
    const refused = await sshRemoteForward({ server: jump, identityFile: engineer.privateKeyPath });
    assert.equal(refused.outcome, 'refused-listen', describeSsh(refused));
    assert.match(refused.stderr, /remote port forwarding failed/);
  });

  it('honours expiry-time: a future instant still works, a past one refuses the key', async () => {
    jump.writeAuthorizedKeys(keyLine(`,expiry-time="${utc(new Date(Date.now() + 3600_000))}"`));
    const ok = await sshHop({ jump, target: internal, identityFile: engineer.privateKeyPath });
    assert.equal(ok.outcome, 'ok', `the UTC form is understood by this sshd: ${describeSsh(ok)}`);
    jump.writeAuthorizedKeys(keyLine(`,expiry-time="${utc(new Date(Date.now() - 60_000))}"`));
    const late = await sshHop({ jump, target: internal, identityFile: engineer.privateKeyPath });
    assert.equal(late.outcome, 'refused-auth', describeSsh(late));
    assert.doesNotMatch(late.stdout, /hop-ok/);
    assert.match(late.stderr, /Permission denied \(publickey\)/);
    assert.match(jump.log(), /Refused by key options/);
  });

  it('survives restart and kill -9 with the same port and host key', async () => {
    jump.writeAuthorizedKeys(keyLine());
    const { port, hostKeyFingerprint } = jump;
    const pid = jump.pid;
    await jump.restart();
    assert.notEqual(jump.pid, pid);
    await jump.kill9();
    await jump.restart();
    assert.equal(jump.port, port);
    assert.equal(jump.hostKeyFingerprint, hostKeyFingerprint);
    const hop = await sshHop({ jump, target: internal, identityFile: engineer.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop)); // StrictHostKeyChecking yes: the host key really is the same
  });
});

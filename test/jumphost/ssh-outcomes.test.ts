// The ssh helper's verdicts against real servers: every negative access check in the suite relies on them,
// so a dead, hung or half-open server must come out as what it is, never as "access denied".
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classifySsh, describeSsh, sshHop, sshJumpShell, sshRemoteForward, sshTunnel } from '../support/ssh-client.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';

/** A TCP listener on loopback that is not sshd: it hangs up at once, or never says a word. */
async function fakeServer(behaviour: 'hang-up' | 'silent'): Promise<{ server: Server; sockets: Socket[]; as: SshdProcess }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => (behaviour === 'hang-up' ? s.destroy() : sockets.push(s)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  // Only what the ssh helper reads: the port, a user and some host key for known_hosts.
  const as = { name: behaviour, port, user: 'nobody', hostPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDgq2tYbBQ4L7bS1x8dQe2ZYUcaRfyQnOc9dbD6H2ZQY' } as SshdProcess;
  return { server, sockets, as };
}

describe('ssh outcomes against real servers', () => {
  let dir: string;
  let engineer: { privateKeyPath: string; publicKey: string };
  let stranger: { privateKeyPath: string; publicKey: string };
  let jump: SshdProcess;
  let internal: SshdProcess;
  let other: SshdProcess;
  let deadTarget: SshdProcess;
  let deadJump: SshdProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-outcomes-'));
    engineer = generateUserKey(dir, 'engineer');
    stranger = generateUserKey(dir, 'stranger');
    const internals = { role: 'internal' as const, authorizedKeysContent: `${engineer.publicKey}\n` };
    [internal, other, deadTarget] = await Promise.all([
      startSshd({ name: 'internal', ...internals }),
      startSshd({ name: 'other', ...internals }),
      startSshd({ name: 'dead-target', ...internals }),
    ]);
    // deadTarget is permitted: once it is down, only the jump server's log tells its failure from a refusal.
    const line = `restrict,port-forwarding,permitopen="127.0.0.1:${internal.port}",permitopen="127.0.0.1:${deadTarget.port}",command="/bin/false" ${engineer.publicKey}\n`;
    [jump, deadJump] = await Promise.all([
      startSshd({ name: 'jump', role: 'jump', authorizedKeysContent: line }),
      startSshd({ name: 'dead-jump', role: 'jump', authorizedKeysContent: line }),
    ]);
    await Promise.all([deadTarget.kill9(), deadJump.kill9()]);
  });
  after(async () => {
    await Promise.all([jump, internal, other, deadTarget, deadJump].map((s) => s?.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('ok: a permitted hop and a permitted tunnel', async () => {
    const hop = await sshHop({ jump, target: internal, identityFile: engineer.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    assert.equal(hop.stdout, 'hop-ok\n');
    const tunnel = await sshTunnel({ jump, identityFile: engineer.privateKeyPath, toHost: '127.0.0.1', toPort: internal.port });
    assert.equal(tunnel.outcome, 'ok', describeSsh(tunnel));
    assert.match(tunnel.stdout, /^SSH-2\.0-/);
  });

  it('refused-command: a shell on the jump server runs the forced /bin/false', async () => {
    const shell = await sshJumpShell({ jump, identityFile: engineer.privateKeyPath });
    assert.equal(shell.outcome, 'refused-command', describeSsh(shell));
    assert.equal(shell.code, 1);
  });

  it('refused-forward: a tunnel or hop to a port not in permitopen, confirmed by the jump server', async () => {
    const tunnel = await sshTunnel({ jump, identityFile: engineer.privateKeyPath, toHost: '127.0.0.1', toPort: other.port });
    assert.equal(tunnel.outcome, 'refused-forward', describeSsh(tunnel));
    const hop = await sshHop({ jump, target: other, identityFile: engineer.privateKeyPath });
    assert.equal(hop.outcome, 'refused-forward', describeSsh(hop));
    assert.doesNotMatch(hop.stdout, /hop-ok/);
  });

  it('refused-auth: a key the jump server does not know', async () => {
    for (const r of [
      await sshHop({ jump, target: internal, identityFile: stranger.privateKeyPath }),
      await sshJumpShell({ jump, identityFile: stranger.privateKeyPath }),
      await sshTunnel({ jump, identityFile: stranger.privateKeyPath, toHost: '127.0.0.1', toPort: internal.port }),
    ])
      assert.equal(r.outcome, 'refused-auth', describeSsh(r));
    assert.match(jump.log(), /Failed publickey/);
  });

  it('refused-listen: remote forwarding on the hardened jump server', async () => {
    const r = await sshRemoteForward({ server: jump, identityFile: engineer.privateKeyPath });
    assert.equal(r.outcome, 'refused-listen', describeSsh(r));
  });

  it('unreachable, not refused: a stopped jump server', async () => {
    for (const r of [
      await sshHop({ jump: deadJump, target: internal, identityFile: engineer.privateKeyPath }),
      await sshJumpShell({ jump: deadJump, identityFile: engineer.privateKeyPath }),
      await sshTunnel({ jump: deadJump, identityFile: engineer.privateKeyPath, toHost: '127.0.0.1', toPort: internal.port }),
    ]) {
      assert.equal(r.outcome, 'unreachable', describeSsh(r));
      assert.match(r.stderr, /Connection refused/);
    }
  });

  it('unreachable, not refused-forward: a permitted target that is down behind a live jump server', async () => {
    const hop = await sshHop({ jump, target: deadTarget, identityFile: engineer.privateKeyPath });
    assert.match(hop.stderr, /stdio forwarding failed/, 'the client alone cannot tell this from a refusal');
    assert.equal(hop.outcome, 'unreachable', describeSsh(hop));
    const tunnel = await sshTunnel({ jump, identityFile: engineer.privateKeyPath, toHost: '127.0.0.1', toPort: deadTarget.port });
    assert.equal(tunnel.outcome, 'unreachable', describeSsh(tunnel));
  });

  it('unreachable: a listener that hangs up before the SSH banner', async () => {
    const fake = await fakeServer('hang-up');
    try {
      const r = await sshJumpShell({ jump: fake.as, identityFile: engineer.privateKeyPath });
      assert.equal(r.outcome, 'unreachable', describeSsh(r));
      assert.match(r.stderr, /kex_exchange_identification/);
    } finally {
      fake.server.close();
    }
  });

  it('timeout: a listener that never speaks', async () => {
    const fake = await fakeServer('silent');
    try {
      // A short deadline is safe here: this server never answers, however fast or slow the machine is.
      const r = await sshJumpShell({ jump: fake.as, identityFile: engineer.privateKeyPath, timeoutMs: 3_000 });
      assert.equal(r.outcome, 'timeout', describeSsh(r));
      assert.notEqual(r.code, 0);
    } finally {
      for (const s of fake.sockets) s.destroy();
      fake.server.close();
    }
  });

  it('the classifier puts a refusal before the noise ssh adds after it, and knows nothing it was not shown', () => {
    const denied = 'root@127.0.0.1: Permission denied (publickey).\r\nkex_exchange_identification: Connection closed by remote host\r\n';
    assert.equal(classifySsh({ code: 255, stdout: '', stderr: denied }), 'refused-auth');
    const forward = 'stdio forwarding failed\r\nkex_exchange_identification: Connection closed by remote host\r\n';
    assert.equal(classifySsh({ code: 255, stdout: '', stderr: forward }), 'refused-forward');
    assert.equal(classifySsh({ code: 255, stdout: '', stderr: 'channel 0: open failed: administratively prohibited: open failed\r\n' }), 'refused-forward');
    assert.equal(classifySsh({ code: 255, stdout: '', stderr: 'ssh: connect to host 127.0.0.1 port 1: Connection refused\r\nkex_exchange_identification: Connection closed by remote host\r\n' }), 'unreachable');
    assert.equal(classifySsh({ code: 255, stdout: '', stderr: denied, timedOut: true }), 'timeout');
    assert.equal(classifySsh({ code: 1, stdout: '', stderr: '' }), 'refused-command');
    assert.equal(classifySsh({ code: 1, stdout: 'x', stderr: '' }), 'failed', 'a command that ran and failed is not a refusal');
    assert.equal(classifySsh({ code: 255, stdout: '', stderr: 'Host key verification failed.\r\n' }), 'failed');
  });
});

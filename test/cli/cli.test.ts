// The command line as an operator runs it: start-up refusals and check-config against a real jump sshd.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { generateUserKey, startSshd, type SshdProcess } from '../../src/sandbox/sshd-process.ts';

function jitJump(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('jit-jump command line', () => {
  let dir: string;
  let sshd: SshdProcess;
  let brokerKey: { privateKeyPath: string; publicKey: string };
  const policy = (hostKey: string, privateKeyPath = brokerKey.privateKeyPath) => ({
    auditChannel: 'C0AUDIT',
    jumpHosts: [{ name: 'bastion', address: '127.0.0.1', port: sshd.port, user: sshd.user, hostKey, privateKeyPath, authorizedKeysPath: sshd.authorizedKeysPath }],
    hosts: [{ name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE'] }],
  });
  const write = (name: string, p: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, stringify(p));
    return path;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-cli-'));
    brokerKey = generateUserKey(dir, 'broker');
    sshd = await startSshd({ name: 'cli-jump', role: 'jump', authorizedKeysContent: `restrict ${brokerKey.publicKey}\n` });
  });
  after(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('start refuses a policy with a wrong field, naming it', () => {
    const bad = policy(sshd.hostKeyFingerprint) as { hosts: Record<string, unknown>[] };
    bad.hosts[0]!.jumpHost = 'bastoin';
    const r = jitJump(['start', '--config', write('bad.yaml', bad)], { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret' });
    assert.equal(r.code, 1);
    assert.match(r.out, /hosts\[0\]\.jumpHost: no jump host named "bastoin" in jumpHosts/);
  });

  it('start refuses without Slack credentials, naming the variable', () => {
    const r = jitJump(['start', '--config', write('ok.yaml', policy(sshd.hostKeyFingerprint))]);
    assert.equal(r.code, 1);
    assert.match(r.out, /SLACK_BOT_TOKEN: is required/);
  });

  it('start refuses a broker private key that others can read', () => {
    const loose = join(dir, 'loose_key');
    writeFileSync(loose, 'x');
    chmodSync(loose, 0o644);
    const r = jitJump(['start', '--config', write('loose.yaml', policy(sshd.hostKeyFingerprint, loose))], {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'secret',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    assert.equal(r.code, 1);
    assert.match(r.out, /privateKeyPath: .*readable by group or others \(mode 644\): run chmod 600/);
  });

  it('start refuses a broker private key it cannot derive the public key from, naming the field', () => {
    const junk = join(dir, 'junk_key');
    writeFileSync(junk, 'not a key\n', { mode: 0o600 });
    const r = jitJump(['start', '--config', write('junk.yaml', policy(sshd.hostKeyFingerprint, junk))], {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'secret',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    assert.equal(r.code, 1);
    assert.match(r.out, /jumpHosts\[bastion\]\.privateKeyPath: cannot read a private key from .*junk_key/);
  });

  it('check-config reaches the jump server, checks the pinned key and reports the version', () => {
    const r = jitJump(['check-config', '--config', write('ok.yaml', policy(sshd.hostKeyFingerprint))]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /host key SHA256:\S+ matches; server SSH-2\.0-OpenSSH_/);
    assert.match(r.out, /managed block not present yet/);
    assert.match(r.out, /0 error\(s\)/);
  });

  it('check-config fails on a host key mismatch and shows both fingerprints', () => {
    const pinned = `SHA256:${'B'.repeat(43)}`;
    const r = jitJump(['check-config', '--config', write('mismatch.yaml', policy(pinned))]);
    assert.equal(r.code, 1);
    assert.ok(r.out.includes(pinned) && r.out.includes(sshd.hostKeyFingerprint), r.out);
  });
});

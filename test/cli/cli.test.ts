// The command line as an operator runs it: start-up refusals and check-config against a real jump sshd.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { generateUserKey, startSshd, type SshdProcess } from '../../src/sandbox/sshd-process.ts';
import { startLocalSlackApi } from '../../src/sandbox/local-slack-api.ts';
import { jitJump as jitJumpAsync } from '../support/cli.ts';
import { until } from '../support/flow.ts';
import { startRedis } from '../../src/sandbox/redis-process.ts';

function jitJump(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/jit-jump.mjs', ...args], {
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

  it('start refuses a broker key file that does not exist in one line with the ssh-keygen command that makes it', () => {
    const missing = join(dir, 'no_such_key');
    const r = jitJump(['start', '--config', write('missing.yaml', policy(sshd.hostKeyFingerprint, missing))], {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'secret',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    assert.equal(r.code, 1);
    assert.equal(r.out.trim().split('\n').length, 1, r.out);
    assert.match(r.out, new RegExp(`^jit-jump: jumpHosts\\[bastion\\]\\.privateKeyPath: cannot read ${missing}: no such file\\. Create the broker's key with: ssh-keygen -t ed25519 -N '' -C jit-jump-broker -f ${missing}`));
  });

  it('start stops at once, in one line naming SLACK_BOT_TOKEN, when Slack refuses the token (before Redis is needed)', async () => {
    const slack = await startLocalSlackApi({ botToken: 'xoxb-the-real-one' });
    try {
      const r = await jitJumpAsync(['start', '--config', write('ok2.yaml', policy(sshd.hostKeyFingerprint))], {
        SLACK_BOT_TOKEN: 'xoxb-a-stale-one',
        SLACK_SIGNING_SECRET: 'secret',
        SLACK_API_URL: slack.apiUrl,
        REDIS_URL: 'redis://127.0.0.1:1',
      });
      assert.equal(r.code, 1);
      assert.equal(r.out.trim().split('\n').length, 1, r.out);
      assert.match(r.out, /^jit-jump: SLACK_BOT_TOKEN: Slack refused the bot token \(invalid_auth\)\. Copy the app's "Bot User OAuth Token"/);
      assert.doesNotMatch(r.out, /xoxb-a-stale-one/, 'the token is not repeated');
    } finally {
      await slack.stop();
    }
  });

  it('start without Redis says so in one line and goes on retrying; when Redis comes, one line says so and it starts', async () => {
    const slack = await startLocalSlackApi({ botToken: 'xoxb-cli-test-token' });
    const redis = await startRedis();
    await redis.kill9(); // its port, nobody listening
    const child = spawn(process.execPath, ['bin/jit-jump.mjs', 'start', '--config', write('noredis.yaml', policy(sshd.hostKeyFingerprint))], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', SLACK_BOT_TOKEN: 'xoxb-cli-test-token', SLACK_SIGNING_SECRET: 'secret', SLACK_API_URL: slack.apiUrl, REDIS_URL: redis.url, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise((r) => child.once('exit', r));
    const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
    try {
      await until('Redis reported unreachable', () => lines().some((l) => /^Redis unreachable at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/.test(l.msg)) || undefined, 60_000);
      // ioredis reconnects every few hundred ms: a few seconds of that must still be one line.
      await new Promise((r) => setTimeout(r, 3000));
      const outage = lines().filter((l) => l.level >= 40);
      assert.deepEqual(outage.map((l) => l.msg.replace(/127\.0\.0\.1:\d+/g, 'ADDR')), [
        'Redis unreachable at redis://ADDR (connect ECONNREFUSED ADDR): reconnecting until it answers, requests get "try again" meanwhile. Is redis-server running, and is REDIS_URL right?',
      ]);
      await redis.restart();
      await until('started once Redis answers', () => (lines().some((l) => l.msg === 'Redis answers again') && lines().some((l) => l.msg === 'jit-jump started')) || undefined, 60_000);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await redis.stop();
      await slack.stop();
    }
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

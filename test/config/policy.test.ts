import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { readEnv } from '../../src/config/env.ts';
import { loadPolicy, validatePolicy } from '../../src/config/policy.ts';

const FP = `SHA256:${'x'.repeat(43)}`;
const valid = () => ({
  auditChannel: 'C0AUDIT',
  jumpHosts: [{ name: 'bastion', address: 'jump.example.com', user: 'jump', hostKey: FP, privateKeyPath: '/k' }],
  hosts: [{ name: 'db-prod-1', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE', 'S0DBTEAM'] }],
});

function errorOf(raw: unknown): string {
  try {
    validatePolicy(raw);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('policy', () => {
  it('fills defaults', () => {
    const p = validatePolicy(valid());
    assert.equal(p.defaults.minDuration, 60_000);
    assert.equal(p.defaults.maxDuration, 8 * 3_600_000);
    assert.equal(p.defaults.approvals, 1);
    assert.equal(p.jumpHosts[0]!.port, 22);
    assert.equal(p.jumpHosts[0]!.authorizedKeysPath, '.ssh/authorized_keys');
  });

  it('names the exact field that is wrong', () => {
    const { auditChannel: _, ...noAudit } = valid();
    assert.match(errorOf(noAudit), /auditChannel:/);
    const v1 = valid();
    v1.jumpHosts[0]!.hostKey = 'abc';
    assert.match(errorOf(v1), /jumpHosts\[0\]\.hostKey: must be an OpenSSH SHA256 fingerprint/);
    const v2 = valid();
    v2.hosts[0]!.jumpHost = 'bastoin';
    assert.match(errorOf(v2), /hosts\[0\]\.jumpHost: no jump host named "bastoin" in jumpHosts/);
    const v3 = valid();
    v3.hosts.push({ ...v3.hosts[0]! });
    assert.match(errorOf(v3), /hosts\[1\]\.name: duplicate host "db-prod-1"/);
    assert.match(errorOf({ ...valid(), defaults: { maxDuration: '2 hours' } }), /defaults\.maxDuration: "2 hours" is not a duration/);
    assert.match(errorOf({ ...valid(), colour: 'blue' }), /colour/);
    const v4 = valid();
    (v4.hosts[0] as Record<string, unknown>).address = '10.0.0.5",command="sh';
    assert.match(errorOf(v4), /hosts\[0\]\.address: must be a hostname or IP address/);
  });

  it('the sample policy has the documented shape (its hostKey is a placeholder to replace)', () => {
    const sample = parse(readFileSync('jit.config.example.yaml', 'utf8'));
    assert.match(errorOf(sample), /^policy is invalid:\n {2}jumpHosts\[0\]\.hostKey: must be an OpenSSH SHA256 fingerprint/);
    sample.jumpHosts[0].hostKey = FP;
    const p = validatePolicy(sample);
    assert.equal(p.hosts[0]!.approvals, 2);
  });

  it('explains a missing file and bad YAML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-policy-'));
    try {
      assert.throws(() => loadPolicy(join(dir, 'missing.yaml')), /cannot read policy file .*missing\.yaml.*JIT_CONFIG/);
      writeFileSync(join(dir, 'bad.yaml'), 'hosts: [unclosed');
      assert.throws(() => loadPolicy(join(dir, 'bad.yaml')), /is not valid YAML/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('environment', () => {
  it('has the documented defaults and reads secrets from _FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-env-'));
    try {
      writeFileSync(join(dir, 'token'), 'xoxb-from-file\n');
      const env = readEnv({ SLACK_BOT_TOKEN_FILE: join(dir, 'token'), SLACK_SIGNING_SECRET: 's' });
      assert.equal(env.SLACK_BOT_TOKEN, 'xoxb-from-file');
      assert.equal(env.REDIS_URL, 'redis://127.0.0.1:6379');
      assert.equal(env.PORT, 3000);
      assert.equal(env.JIT_CONFIG, './jit.config.yaml');
      assert.throws(() => readEnv({ SLACK_BOT_TOKEN: 'x' }), /SLACK_SIGNING_SECRET: is required/);
      assert.throws(() => readEnv({ SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET: 's', REDIS_URL: 'localhost' }), /REDIS_URL/);
      assert.throws(() => readEnv({ SLACK_BOT_TOKEN_FILE: join(dir, 'nope'), SLACK_SIGNING_SECRET: 's' }), /SLACK_BOT_TOKEN_FILE: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';

let dir: string;
const gen = (name: string, ...args: string[]) => {
  execFileSync('ssh-keygen', ['-q', '-N', '', '-C', `${name}@laptop`, '-f', join(dir, name), ...args]);
  return {
    pub: readFileSync(join(dir, `${name}.pub`), 'utf8'),
    priv: readFileSync(join(dir, name), 'utf8'),
    fingerprint: execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, `${name}.pub`)]).toString().split(' ')[1],
  };
};
const rules = { minRsaBits: 3072 };

describe('checkUserPublicKey', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-pk-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts ed25519, ECDSA and RSA ≥ 3072, re-serialized without the comment, with ssh-keygen’s fingerprint', () => {
    for (const [name, args] of [
      ['ed', ['-t', 'ed25519']],
      ['ec256', ['-t', 'ecdsa', '-b', '256']],
      ['ec521', ['-t', 'ecdsa', '-b', '521']],
      ['rsa3072', ['-t', 'rsa', '-b', '3072']],
    ] as const) {
      const k = gen(name, ...args);
      const r = checkUserPublicKey(`  ${k.pub}  `, rules);
      assert.ok(r.ok, name);
      assert.equal(r.key.fingerprint, k.fingerprint);
      assert.equal(r.key.line, k.pub.trim().split(' ').slice(0, 2).join(' '));
    }
  });

  it('refuses short RSA unless the policy lowers the bar', () => {
    const k = gen('rsa2048', '-t', 'rsa', '-b', '2048');
    const r = checkUserPublicKey(k.pub, rules);
    assert.ok(!r.ok);
    assert.match(r.message, /at least 3072 bits \(this one has 2048\)/);
    assert.ok(checkUserPublicKey(k.pub, { minRsaBits: 2048 }).ok);
  });

  it('refuses a pasted private key and says it must be rotated', () => {
    const k = gen('leak', '-t', 'ed25519');
    for (const text of [k.priv, `-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----`, `PuTTY-User-Key-File-3: ssh-ed25519`]) {
      const r = checkUserPublicKey(text, rules);
      assert.ok(!r.ok);
      assert.equal(r.privateKeyPasted, true);
      assert.match(r.message, /private.*leaked/s);
    }
  });

  it('refuses DSA, certificates, option prefixes, several keys and damaged data', () => {
    const ed = gen('ed2', '-t', 'ed25519').pub.trim();
    const [type, blob] = ed.split(' ');
    const cases: [string, RegExp][] = [
      [`ssh-dss AAAAB3NzaC1kc3MAAACBAP`, /DSA keys are too weak/],
      [`ssh-ed25519-cert-v01@openssh.com ${blob}`, /Certificates are not accepted/],
      [`from="10.0.0.1" ${ed}`, /must start with its type/],
      [`command="/bin/sh" ${ed}`, /must start with its type/],
      [`${ed}\n${ed}`, /exactly one key on one line/],
      [`${type} ${blob!.slice(0, 20)} ${blob!.slice(20)}`, /not a valid|round-trip/],
      [`${type} ${blob}AAAA`, /not a valid|round-trip/],
      [`ssh-rsa ${blob}`, /not a valid|does not match/],
      [`${type} not*base64`, /not valid base64/],
      ['', /No key given/],
      ['hello world', /must start with its type/],
      [`${ed}\u0007`, /control characters/],
      [`sk-ssh-ed25519@openssh.com ${blob}`, /Security-key/],
    ];
    for (const [text, expected] of cases) {
      const r = checkUserPublicKey(text, rules);
      assert.ok(!r.ok, text);
      assert.match(r.message, expected, text);
    }
  });
});

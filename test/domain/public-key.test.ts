import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { checkUserPublicKey, type KeyCheck } from '../../src/domain/public-key.ts';
import type { RefusalDetail } from '../../src/domain/result.ts';
import { FC_RUNS, generateKeys, mustGet, type GeneratedKey } from './fixtures.ts';

const rules = { minRsaBits: 3072 };
let keys = new Map<string, GeneratedKey>();
let cleanup = () => {};
const k = (name: string) => mustGet(keys, name);

before(async () => {
  const generated = await generateKeys([
    { name: 'ed', args: ['-t', 'ed25519'] },
    { name: 'ed2', args: ['-t', 'ed25519'] },
    { name: 'ec256', args: ['-t', 'ecdsa', '-b', '256'] },
    { name: 'ec384', args: ['-t', 'ecdsa', '-b', '384'] },
    { name: 'ec521', args: ['-t', 'ecdsa', '-b', '521'] },
    { name: 'rsa3072', args: ['-t', 'rsa', '-b', '3072'] },
    { name: 'rsa2048', args: ['-t', 'rsa', '-b', '2048'] },
    { name: 'dsa', args: ['-t', 'dsa'] },
    { name: 'pem', args: ['-t', 'rsa', '-b', '2048', '-m', 'PEM'] },
    { name: 'pkcs8', args: ['-t', 'ecdsa', '-b', '256', '-m', 'PKCS8'] },
  ]);
  keys = generated.keys;
  cleanup = generated.cleanup;
});
after(() => cleanup());

/** The refusal's code and data: the sentence is the Slack layer's (test/slack/messages.test.ts). */
function detail(r: KeyCheck, what = ''): RefusalDetail {
  assert.equal(r.ok, false, `expected a refusal: ${what}`);
  const { code, params } = r as RefusalDetail;
  return { code, params } as RefusalDetail;
}
const refused = (r: KeyCheck, what = '') => detail(r, what).code;

describe('checkUserPublicKey: accepted keys', () => {
  for (const [name, type, bits] of [
    ['ed', 'ssh-ed25519', 256],
    ['ec256', 'ecdsa-sha2-nistp256', 256],
    ['ec384', 'ecdsa-sha2-nistp384', 384],
    ['ec521', 'ecdsa-sha2-nistp521', 521],
    ['rsa3072', 'ssh-rsa', 3072],
  ] as const)
    it(`${type} (${bits} bits): re-serialized without the comment, with ssh-keygen -l’s fingerprint`, () => {
      const key = k(name);
      const r = checkUserPublicKey(key.pub, rules);
      assert.ok(r.ok, r.ok ? '' : r.message);
      assert.equal(r.value.fingerprint, key.fingerprint);
      assert.match(r.value.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.equal(r.value.line, key.line);
      assert.ok(!r.value.line.includes('laptop'), 'the comment is never stored');
      assert.equal(r.value.type, type);
      assert.equal(r.value.bits, bits);
      assert.equal(key.bits, bits, 'ssh-keygen agrees on the size');
    });

  it('accepts surrounding blanks, tabs, a missing comment and a comment with spaces', () => {
    const ed = k('ed');
    for (const text of [`  ${ed.pub}  `, `\t${ed.line}\t`, ed.line, `${ed.line} my work laptop (2026)`, ed.line.replace(' ', '\t'), `${ed.line}\n`]) {
      const r = checkUserPublicKey(text, rules);
      assert.ok(r.ok, JSON.stringify(text));
      assert.equal(r.value.line, ed.line);
      assert.equal(r.value.fingerprint, ed.fingerprint);
    }
  });

  it('gives different keys different fingerprints', () => {
    const a = checkUserPublicKey(k('ed').pub, rules);
    const b = checkUserPublicKey(k('ed2').pub, rules);
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.value.fingerprint, b.value.fingerprint);
  });
});

describe('checkUserPublicKey: weak keys', () => {
  it('refuses RSA 2048 at minRsaBits 3072, naming both sizes, and accepts it at 2048', () => {
    assert.deepEqual(detail(checkUserPublicKey(k('rsa2048').pub, rules)), { code: 'key-rsa-too-small', params: { minBits: 3072, bits: 2048 } });
    const r = checkUserPublicKey(k('rsa2048').pub, { minRsaBits: 2048 });
    assert.ok(r.ok);
    assert.equal(r.value.bits, 2048);
    assert.equal(r.value.fingerprint, k('rsa2048').fingerprint);
    // and RSA 3072 is refused where the bar is higher still
    assert.deepEqual(detail(checkUserPublicKey(k('rsa3072').pub, { minRsaBits: 4096 })), { code: 'key-rsa-too-small', params: { minBits: 4096, bits: 3072 } });
  });

  it('refuses a real DSA key and a fake ssh-dss line alike', () => {
    for (const text of [k('dsa').pub, 'ssh-dss AAAAB3NzaC1kc3MAAACBAP me@laptop'])
      assert.equal(refused(checkUserPublicKey(text, rules)), 'key-dsa');
  });
});

describe('checkUserPublicKey: private keys pasted by mistake', () => {
  it('refuses OpenSSH, PEM and PKCS#8 private keys as such, echoing none of the text', () => {
    const texts = {
      openssh: k('ed').priv,
      pem: k('pem').priv,
      pkcs8: k('pkcs8').priv,
      'openssh, one line (Slack flattened it)': k('ed').priv.replace(/\n/g, ' '),
      'PuTTY': 'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n',
      'SSH2 encrypted': '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nabc\n',
      'private key after the public one': `${k('ed').pub}${k('ed').priv}`,
      'over-long private key': `${k('pem').priv}${'A'.repeat(20_000)}`,
    };
    assert.match(texts.openssh, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    assert.match(texts.pem, /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.match(texts.pkcs8, /^-----BEGIN PRIVATE KEY-----/);
    for (const [what, text] of Object.entries(texts)) {
      const r = checkUserPublicKey(text, rules);
      assert.deepEqual(detail(r, what), { code: 'private-key-pasted', params: {} }, what);
      assert.ok(!JSON.stringify(r).includes('PRIVATE KEY-----'), 'the key is not echoed, not even in the log detail');
    }
  });

  it('does not flag ordinary refusals as private keys', () => {
    for (const text of ['hello', k('dsa').pub, k('rsa2048').pub, '']) {
      const code = refused(checkUserPublicKey(text, rules), text);
      assert.notEqual(code, 'private-key-pasted', text);
      assert.match(code, /^key-/, text);
    }
  });
});

describe('checkUserPublicKey: malformed or unwanted text', () => {
  it('refuses option prefixes (from=, command=, restrict) before the type', () => {
    const ed = k('ed').line;
    for (const text of [`from="10.0.0.1" ${ed}`, `command="/bin/sh" ${ed}`, `restrict ${ed}`, `no-pty,permitopen="x:22" ${ed}`, `environment="A=b" ${ed}`])
      assert.equal(refused(checkUserPublicKey(text, rules), text), 'key-no-type');
  });

  it('refuses two keys, on two lines or on one', () => {
    const a = k('ed').line;
    const b = k('ed2').line;
    assert.equal(refused(checkUserPublicKey(`${a}\n${b}`, rules)), 'key-not-one-line');
    assert.equal(refused(checkUserPublicKey(`${a}\r\n${b}`, rules)), 'key-not-one-line');
    assert.equal(refused(checkUserPublicKey(`${a} x\ry`, rules)), 'key-not-one-line');
    // a line ending from a Windows paste is only trailing whitespace
    assert.ok(checkUserPublicKey(`${a} me@laptop\r\n`, rules).ok);
    // on one line the second key would be only a comment: refused rather than silently dropped
    for (const text of [`${a} ${b}`, `${a} me@laptop ${b}`, `${a} ${b} me@laptop`, `${a} ${k('ec256').pub}`])
      assert.equal(refused(checkUserPublicKey(text, rules), text), 'key-not-one-line');
    // a comment that merely mentions a key type is fine
    assert.ok(checkUserPublicKey(`${a} my ssh-ed25519 key`, rules).ok);
  });

  it('refuses whitespace or junk inside the base64', () => {
    const [type, blob] = k('ed').line.split(' ') as [string, string];
    for (const text of [
      `${type} ${blob.slice(0, 20)} ${blob.slice(20)}`,
      `${type} ${blob.slice(0, 20)}\t${blob.slice(20)}`,
      `${type} ${blob.slice(0, 40)}`, // truncated
      `${type} ${blob}AAAA`, // trailing junk inside the blob
      `${type} ${blob.slice(0, -1)}`,
    ])
      assert.ok(['key-unparsable', 'key-not-round-trip', 'key-bad-base64'].includes(refused(checkUserPublicKey(text, rules), text)), text);
    assert.equal(refused(checkUserPublicKey(`${type} not*base64!`, rules)), 'key-bad-base64');
    assert.equal(refused(checkUserPublicKey(`${type} ${blob.slice(0, 10)}=${blob.slice(10)}`, rules)), 'key-bad-base64');
    assert.equal(refused(checkUserPublicKey(type, rules)), 'key-bad-base64');
  });

  it('refuses a type that does not match the key data', () => {
    const [, blob] = k('ed').line.split(' ') as [string, string];
    const [, ecBlob] = k('ec256').line.split(' ') as [string, string];
    const mismatch = ['key-unparsable', 'key-not-round-trip', 'key-type-mismatch'];
    for (const text of [`ssh-rsa ${blob}`, `ecdsa-sha2-nistp384 ${ecBlob}`, `ssh-ed25519 ${ecBlob}`]) assert.ok(mismatch.includes(refused(checkUserPublicKey(text, rules))), text);
  });

  it('refuses certificates, real or by type name', () => {
    // a real certificate: the ed key signed by the ed2 key as a CA
    execFileSync('ssh-keygen', ['-q', '-s', k('ed2').path, '-I', 'alice', '-n', 'jump', '-V', '+1h', `${k('ed').path}.pub`]);
    const cert = readFileSync(`${k('ed').path}-cert.pub`, 'utf8');
    assert.match(cert, /^ssh-ed25519-cert-v01@openssh\.com AAAA/);
    assert.equal(refused(checkUserPublicKey(cert, rules)), 'key-certificate');
    const [, blob] = k('ed').line.split(' ') as [string, string];
    for (const type of ['ssh-ed25519-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com', 'ecdsa-sha2-nistp256-cert-v01@openssh.com'])
      assert.equal(refused(checkUserPublicKey(`${type} ${blob}`, rules)), 'key-certificate');
  });

  it('refuses security-key (sk-) types with a pointer to ed25519', () => {
    const [, blob] = k('ed').line.split(' ') as [string, string];
    for (const type of ['sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'])
      assert.equal(refused(checkUserPublicKey(`${type} ${blob}`, rules)), 'key-security-key');
  });

  it('refuses empty text, garbage and unknown types with the shape of a good key', () => {
    for (const text of ['', '   ', '\n'])
      assert.equal(refused(checkUserPublicKey(text, rules)), 'key-missing');
    const [, blob] = k('ed').line.split(' ') as [string, string];
    for (const text of ['hello world', 'AAAAC3NzaC1lZDI1NTE5', blob, `ssh-foo ${blob}`, `SSH-ED25519 ${blob}`, `constructor ${blob}`, `__proto__ ${blob}`, `toString ${blob}`])
      assert.equal(refused(checkUserPublicKey(text, rules), text), 'key-no-type', text);
  });

  it('refuses control characters', () => {
    const ed = k('ed').line;
    for (const text of [`${ed}\u0007`, `${ed} me\u0000`, `${ed} \u001b[31m`, `${ed}\u007f`])
      assert.equal(refused(checkUserPublicKey(text, rules), JSON.stringify(text)), 'key-control-characters');
  });

  it('refuses over-long text without parsing it', () => {
    assert.equal(refused(checkUserPublicKey(`${k('ed').line} ${'x'.repeat(20_000)}`, rules)), 'key-too-long');
  });

  it('only ever accepts text whose first two fields are exactly the re-serialized key (property)', () => {
    const ed = k('ed').line;
    const [type, blob] = ed.split(' ') as [string, string];
    const noise = fc.string({ maxLength: 8 });
    fc.assert(
      fc.property(noise, noise, noise, fc.integer({ min: 0, max: blob.length }), (pre, mid, post, cut) => {
        const text = `${pre}${type} ${blob.slice(0, cut)}${mid}${blob.slice(cut)}${post}`;
        const r = checkUserPublicKey(text, rules);
        if (!r.ok) return;
        // Noise can spell another valid key ("…XhkFKN wq&L…" ends the blob early): accepting that is right, as
        // long as what is stored is exactly what the text's first two fields say, never a repaired guess.
        const fields = text.trim().split(/[\t ]+/).slice(0, 2).join(' ');
        assert.equal(r.value.line, fields, JSON.stringify(text));
        if (fields === ed) assert.equal(r.value.fingerprint, k('ed').fingerprint);
        else assert.notEqual(r.value.fingerprint, k('ed').fingerprint);
      }),
      { numRuns: Math.min(FC_RUNS, 1000) },
    );
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { checkUserPublicKey, type KeyCheck } from '../../src/domain/public-key.ts';
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

function refused(r: KeyCheck, what = ''): string {
  assert.equal(r.ok, false, `expected a refusal: ${what}`);
  return (r as { message: string }).message;
}

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
    assert.equal(
      refused(checkUserPublicKey(k('rsa2048').pub, rules)),
      'RSA keys must have at least 3072 bits (this one has 2048). Make an ed25519 key: `ssh-keygen -t ed25519`.',
    );
    const r = checkUserPublicKey(k('rsa2048').pub, { minRsaBits: 2048 });
    assert.ok(r.ok);
    assert.equal(r.value.bits, 2048);
    assert.equal(r.value.fingerprint, k('rsa2048').fingerprint);
    // and RSA 3072 is refused where the bar is higher still
    assert.match(refused(checkUserPublicKey(k('rsa3072').pub, { minRsaBits: 4096 })), /at least 4096 bits \(this one has 3072\)/);
  });

  it('refuses a real DSA key and a fake ssh-dss line alike', () => {
    for (const text of [k('dsa').pub, 'ssh-dss AAAAB3NzaC1kc3MAAACBAP me@laptop'])
      assert.equal(refused(checkUserPublicKey(text, rules)), 'DSA keys are too weak and are refused. Make an ed25519 key: `ssh-keygen -t ed25519`.');
  });
});

describe('checkUserPublicKey: private keys pasted by mistake', () => {
  it('refuses OpenSSH, PEM and PKCS#8 private keys, says so and asks for rotation', () => {
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
      assert.equal(r.ok, false, what);
      assert.equal((r as { code?: string }).code, 'private-key-pasted', what);
      const m = refused(r, what);
      assert.match(m, /That was a \*private\* key/, what);
      assert.match(m, /treat it as leaked/, what);
      assert.match(m, /ssh-keygen -t ed25519/, what);
      assert.ok(!m.includes('PRIVATE KEY-----'), 'the key is not echoed');
    }
  });

  it('does not flag ordinary refusals as private keys', () => {
    for (const text of ['hello', k('dsa').pub, k('rsa2048').pub, '']) {
      const r = checkUserPublicKey(text, rules);
      assert.equal(r.ok, false);
      assert.equal((r as { code?: string }).code, 'bad-key', text);
    }
  });
});

describe('checkUserPublicKey: malformed or unwanted text', () => {
  it('refuses option prefixes (from=, command=, restrict) before the type', () => {
    const ed = k('ed').line;
    for (const text of [`from="10.0.0.1" ${ed}`, `command="/bin/sh" ${ed}`, `restrict ${ed}`, `no-pty,permitopen="x:22" ${ed}`, `environment="A=b" ${ed}`])
      assert.match(refused(checkUserPublicKey(text, rules), text), /A key must start with its type .*nothing may stand before it/);
  });

  it('refuses two keys, on two lines or on one', () => {
    const a = k('ed').line;
    const b = k('ed2').line;
    assert.match(refused(checkUserPublicKey(`${a}\n${b}`, rules)), /Give exactly one key on one line/);
    assert.match(refused(checkUserPublicKey(`${a}\r\n${b}`, rules)), /Give exactly one key on one line/);
    assert.match(refused(checkUserPublicKey(`${a} x\ry`, rules)), /exactly one key on one line/);
    // a line ending from a Windows paste is only trailing whitespace
    assert.ok(checkUserPublicKey(`${a} me@laptop\r\n`, rules).ok);
    // on one line the second key would be only a comment: refused rather than silently dropped
    for (const text of [`${a} ${b}`, `${a} me@laptop ${b}`, `${a} ${b} me@laptop`, `${a} ${k('ec256').pub}`])
      assert.match(refused(checkUserPublicKey(text, rules), text), /Give exactly one key on one line/);
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
      assert.match(refused(checkUserPublicKey(text, rules), text), /not a valid OpenSSH public key|round-trip|not valid base64/, text);
    assert.match(refused(checkUserPublicKey(`${type} not*base64!`, rules)), /The key data is not valid base64/);
    assert.match(refused(checkUserPublicKey(`${type} ${blob.slice(0, 10)}=${blob.slice(10)}`, rules)), /not valid base64/);
    assert.match(refused(checkUserPublicKey(type, rules)), /not valid base64/);
  });

  it('refuses a type that does not match the key data', () => {
    const [, blob] = k('ed').line.split(' ') as [string, string];
    const [, ecBlob] = k('ec256').line.split(' ') as [string, string];
    assert.match(refused(checkUserPublicKey(`ssh-rsa ${blob}`, rules)), /not a valid OpenSSH public key|round-trip|does not match/);
    assert.match(refused(checkUserPublicKey(`ecdsa-sha2-nistp384 ${ecBlob}`, rules)), /not a valid OpenSSH public key|round-trip|does not match/);
    assert.match(refused(checkUserPublicKey(`ssh-ed25519 ${ecBlob}`, rules)), /not a valid OpenSSH public key|round-trip|does not match/);
  });

  it('refuses certificates, real or by type name', () => {
    // a real certificate: the ed key signed by the ed2 key as a CA
    execFileSync('ssh-keygen', ['-q', '-s', k('ed2').path, '-I', 'alice', '-n', 'jump', '-V', '+1h', `${k('ed').path}.pub`]);
    const cert = readFileSync(`${k('ed').path}-cert.pub`, 'utf8');
    assert.match(cert, /^ssh-ed25519-cert-v01@openssh\.com AAAA/);
    assert.match(refused(checkUserPublicKey(cert, rules)), /Certificates are not accepted; register the plain public key/);
    const [, blob] = k('ed').line.split(' ') as [string, string];
    for (const type of ['ssh-ed25519-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com', 'ecdsa-sha2-nistp256-cert-v01@openssh.com'])
      assert.match(refused(checkUserPublicKey(`${type} ${blob}`, rules)), /Certificates are not accepted/);
  });

  it('refuses security-key (sk-) types with a pointer to ed25519', () => {
    const [, blob] = k('ed').line.split(' ') as [string, string];
    for (const type of ['sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'])
      assert.match(refused(checkUserPublicKey(`${type} ${blob}`, rules)), /Security-key \(sk-…\) keys are not supported yet/);
  });

  it('refuses empty text, garbage and unknown types with the shape of a good key', () => {
    for (const text of ['', '   ', '\n'])
      assert.equal(refused(checkUserPublicKey(text, rules)), 'No key given. Paste the one line from your *.pub file, e.g. `/jump key add ssh-ed25519 AAAAC3Nz… you@laptop`.');
    const [, blob] = k('ed').line.split(' ') as [string, string];
    for (const text of ['hello world', 'AAAAC3NzaC1lZDI1NTE5', blob, `ssh-foo ${blob}`, `SSH-ED25519 ${blob}`, `constructor ${blob}`, `__proto__ ${blob}`, `toString ${blob}`])
      assert.match(refused(checkUserPublicKey(text, rules), text), /A key must start with its type \(ssh-ed25519, ecdsa-sha2-nistp256\/384\/521 or ssh-rsa\)/, text);
  });

  it('refuses control characters', () => {
    const ed = k('ed').line;
    for (const text of [`${ed}\u0007`, `${ed} me\u0000`, `${ed} \u001b[31m`, `${ed}\u007f`])
      assert.match(refused(checkUserPublicKey(text, rules), JSON.stringify(text)), /control characters/);
  });

  it('refuses over-long text without parsing it', () => {
    assert.match(refused(checkUserPublicKey(`${k('ed').line} ${'x'.repeat(20_000)}`, rules)), /too long to be a public key/);
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

// The pinned fingerprint in the policy is what ssh-keygen -l prints: ours must match it byte for byte.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sha256Fingerprint } from '../../src/jumphost/host-key-fingerprint.ts';

describe('sha256Fingerprint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-fp-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const type of [['ed25519'], ['ecdsa', '-b', '256'], ['rsa', '-b', '2048']]) {
    it(`matches ssh-keygen -l for a ${type[0]} key`, () => {
      const path = join(dir, type[0]!);
      execFileSync('ssh-keygen', ['-q', '-t', ...type, '-N', '', '-f', path]);
      // The raw key blob is what ssh2's hostVerifier receives: the base64 field of the .pub line, decoded.
      const blob = Buffer.from(readFileSync(`${path}.pub`, 'utf8').split(' ')[1]!, 'base64');
      const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`]).toString().split(' ')[1];
      assert.equal(sha256Fingerprint(blob), expected);
      assert.match(sha256Fingerprint(blob), /^SHA256:[A-Za-z0-9+/]{43}$/); // the policy schema's pattern: no '=' padding
    });
  }

  it('differs for different keys', () => {
    assert.notEqual(sha256Fingerprint(Buffer.from('a')), sha256Fingerprint(Buffer.from('b')));
  });
});

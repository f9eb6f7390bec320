// Keys standing outside the managed block: read as sshd reads authorized_keys lines (options, quotes,
// comments), fingerprinted as ssh-keygen -l prints them, and screened out of what a sync renders.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BLOCK_BEGIN, BLOCK_END, type RenderableGrant } from '../../src/domain/managed-block.ts';
import { keyOfAuthorizedKeysLine, screenStandingKeys, standingFingerprints } from '../../src/domain/standing-keys.ts';

describe('standing keys', () => {
  let dir = '';
  const keys: { line: string; fingerprint: string }[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-standing-'));
    for (const [name, args] of [['a', ['-t', 'ed25519']], ['b', ['-t', 'ecdsa', '-b', '256']], ['c', ['-t', 'ed25519']]] as const) {
      const path = join(dir, name);
      execFileSync('ssh-keygen', ['-q', '-N', '', '-C', `${name}@test`, '-f', path, ...args]);
      const line = readFileSync(`${path}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
      // ssh-keygen's own fingerprint: the one an operator compares with
      const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
      keys.push({ line, fingerprint });
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the key of a line with or without options, quotes holding blanks and key-like text, and a comment', () => {
    const [a] = keys;
    assert.equal(keyOfAuthorizedKeysLine(`${a!.line} ops@laptop`), a!.fingerprint);
    assert.equal(keyOfAuthorizedKeysLine(`restrict,from="10.0.0.1" ${a!.line}`), a!.fingerprint);
    assert.equal(keyOfAuthorizedKeysLine(`command="echo \\"x ssh-ed25519 AAAA\\" y",no-pty ${a!.line} c`), a!.fingerprint);
    assert.equal(keyOfAuthorizedKeysLine(`\t  ${a!.line}`), a!.fingerprint);
    for (const none of ['', '# a comment', `#${a!.line}`, 'garbage', 'ssh-ed25519 AAAAnotakey', 'restrict ssh-ed25519'])
      assert.equal(keyOfAuthorizedKeysLine(none), undefined, none);
  });

  it('takes the keys outside the block only: before and after it, never inside', () => {
    const [a, b, c] = keys;
    const file = [`restrict ${a!.line} broker`, BLOCK_BEGIN, `restrict,command="/bin/false" ${c!.line} jit:r1`, BLOCK_END, `${b!.line} ops`, ''].join('\n');
    assert.deepEqual(standingFingerprints(file), new Set([a!.fingerprint, b!.fingerprint]));
    assert.deepEqual(standingFingerprints(''), new Set());
  });

  it('leaves out of the rendering every grant whose key stands outside, by fingerprint', () => {
    const [a, b] = keys;
    const grant = (id: string, publicKey: string): RenderableGrant => ({ id, publicKey, address: '10.0.0.5', port: 22, expiresAt: 1 });
    const s = screenStandingKeys([grant('r1', a!.line), grant('r2', b!.line), grant('r3', a!.line)], new Set([a!.fingerprint]));
    assert.deepEqual(s.kept.map((g) => g.id), ['r2']);
    assert.deepEqual(s.skipped, [{ fingerprint: a!.fingerprint, grantIds: ['r1', 'r3'] }]);
  });
});

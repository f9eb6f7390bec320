// Whole-file and range reads over SFTP against a real sshd: what comes back, and how big a buffer each read takes
// before its answer (a fixed 1 MiB per read, 100 jump servers at once, stayed in the broker's RSS).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, type SFTPWrapper } from 'ssh2';
import { sha256Fingerprint } from '../../src/jumphost/host-key-fingerprint.ts';
import { readFileRange, readWholeFile } from '../../src/jumphost/sftp-file.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';

const KiB = 1024;

/** Bytes no two positions of which repeat in a short period: a misplaced chunk shows. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 9) + seed) & 0xff;
  return b;
}

describe('SFTP file reads (sftp-file.ts)', () => {
  let sshd: SshdProcess;
  let keyDir: string;
  let client: Client;
  let sftp: SFTPWrapper;
  let path: string;

  before(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'jit-sftp-file-'));
    const key = generateUserKey(keyDir, 'broker');
    sshd = await startSshd({ name: 'jump-sftp-file', role: 'jump', authorizedKeysContent: `restrict ${key.publicKey}\n` });
    path = join(sshd.dir, 'data');
    client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKey: readFileSync(key.privateKeyPath), readyTimeout: 30_000, hostVerifier: (k: Buffer) => sha256Fingerprint(k) === sshd.hostKeyFingerprint });
    });
    sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
  });
  after(async () => {
    client?.end();
    await sshd?.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('a small file is read whole into a 64 KiB buffer, not 1 MiB; a file grown past the last read is still read whole', async () => {
    const small = pattern(700, 1);
    writeFileSync(path, small);
    const first = (await readWholeFile(sftp, path))!;
    assert.ok(first.equals(small));
    assert.equal(first.buffer.byteLength, 64 * KiB, 'the first read of a file on this connection');

    const grown = pattern(300 * KiB + 5, 2); // far past twice the last read
    writeFileSync(path, grown);
    const whole = (await readWholeFile(sftp, path))!;
    assert.ok(whole.equals(grown), 'byte for byte');
    assert.ok(whole.buffer.byteLength < 2 * grown.length, `grown to what fstat said, not by doubling (${whole.buffer.byteLength} B)`);

    // Sized from the last read: twice it, so that a few more lines still fit in one request.
    const again = (await readWholeFile(sftp, path))!;
    assert.ok(again.equals(grown));
    assert.equal(again.buffer.byteLength, 2 * grown.length);
  });

  it('a range read returns at most what was asked from the offset, with the size, and undefined for a missing file', async () => {
    const content = pattern(200 * KiB, 3);
    writeFileSync(path, content);
    const r = (await readFileRange(sftp, path, 1000, 150 * KiB))!;
    assert.equal(r.size, content.length);
    assert.ok(r.data.equals(content.subarray(1000, 1000 + 150 * KiB)));
    const tail = (await readFileRange(sftp, path, content.length - 10, 1 * KiB))!;
    assert.ok(tail.data.equals(content.subarray(content.length - 10)));
    assert.equal(await readFileRange(sftp, join(sshd.dir, 'nothing-here'), 0, 10), undefined);
  });
});

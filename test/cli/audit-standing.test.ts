// `jit-jump audit standing` as an operator runs it (the real CLI in a child process) against a real sshd
// holding the jump account's authorized_keys: a planted key outside the managed block is listed with the
// fingerprint ssh-keygen prints and exit 1; the broker's own line and the block's lines are not; with the
// planted line gone, exit 0; a jump server that cannot be reached is said so, exit 1; a stray word, exit 2.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { blockBeginLine, BLOCK_END, renderKeyLines } from '../../src/domain/managed-block.ts';
import { freePort } from '../../src/sandbox/processes.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';
import { jitJump } from '../support/cli.ts';


const fingerprintOf = (publicKey: string): string => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', '-'], { input: `${publicKey}\n`, encoding: 'utf8' }).split(' ')[1]!;

describe('audit standing end to end', () => {
  let dir: string;
  let jump: SshdProcess;
  let brokerKey: { privateKeyPath: string; publicKey: string };
  let brokerLine: string;
  let planted: string;
  let plantedFingerprint: string;
  let grantedFingerprint: string;
  let handWrittenFingerprint: string;
  let block: string[];
  let policyPath: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-audit-standing-'));
    brokerKey = generateUserKey(dir, 'broker');
    const [granted, handWritten, plant] = ['granted', 'inside', 'planted'].map((n) => generateUserKey(dir, n).publicKey.split(' ').slice(0, 2).join(' '));
    planted = `${plant} planted@example`;
    plantedFingerprint = fingerprintOf(plant!);
    grantedFingerprint = fingerprintOf(granted!);
    handWrittenFingerprint = fingerprintOf(handWritten!);
    // The broker's login stands outside the block, as in the test world and on a real jump server.
    brokerLine = `restrict ${brokerKey.publicKey}`;
    const grant = renderKeyLines([{ id: 'g-1', publicKey: granted!, address: '127.0.0.1', port: 22, expiresAt: Date.now() + 3_600_000 }], Date.now(), 'utc');
    block = [blockBeginLine(1), ...grant, `${handWritten} hand-written inside the markers`, BLOCK_END];
    jump = await startSshd({ name: 'jump', role: 'jump', authorizedKeysContent: `${brokerLine}\n` });
    const policy = (jumpHosts: Record<string, unknown>[]) => ({
      auditChannel: 'C0AUDIT',
      jumpHosts,
      hosts: [{ name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE'] }],
    });
    const bastion = { name: 'bastion', address: '127.0.0.1', port: jump.port, user: jump.user, hostKey: jump.hostKeyFingerprint, privateKeyPath: brokerKey.privateKeyPath, authorizedKeysPath: jump.authorizedKeysPath };
    policyPath = join(dir, 'jit.config.yaml');
    writeFileSync(policyPath, stringify(policy([bastion])));
    // A second jump server where nothing listens: its entry says it could not be read.
    const down = { ...bastion, name: 'down', port: await freePort() };
    writeFileSync(join(dir, 'down.yaml'), stringify(policy([bastion, down])));
  });
  after(async () => {
    await jump?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists a key planted outside the block by its fingerprint (exit 1), not the broker nor the block; exit 0 once it is gone', async () => {
    jump.writeAuthorizedKeys(['# operators: no keys here', brokerLine, ...block, planted, ''].join('\n'));
    const found = await jitJump(['audit', 'standing', '--config', policyPath]);
    assert.equal(found.code, 1, found.out);
    const lines = found.out.trim().split('\n');
    assert.deepEqual(lines, [
      `bastion: standing key ${plantedFingerprint} ssh-ed25519 line ${block.length + 3} comment "planted@example" options (none)`,
      '1 standing key(s) on 1 jump server(s)',
    ]);
    for (const fp of [grantedFingerprint, handWrittenFingerprint]) assert.ok(!found.out.includes(fp), `a block line is not standing: ${found.out}`);

    jump.writeAuthorizedKeys([brokerLine, ...block, ''].join('\n'));
    const clean = await jitJump(['audit', 'standing', '--config', policyPath]);
    assert.equal(clean.code, 0, clean.out);
    assert.deepEqual(clean.out.trim().split('\n'), ["bastion: no standing keys besides the broker's", '0 standing key(s) on 1 jump server(s)']);
  });

  it('says so when a jump server cannot be read (exit 1), and refuses a stray word (exit 2)', async () => {
    const r = await jitJump(['audit', 'standing', '--config', join(dir, 'down.yaml')]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^bastion: no standing keys besides the broker's$/m);
    assert.match(r.out, /^down: could not be read, standing access unknown: .+$/m);
    assert.match(r.out, /0 standing key\(s\) on 2 jump server\(s\); 1 could not be read/);
    const stray = await jitJump(['audit', 'standing', 'extra', '--config', policyPath]);
    assert.equal(stray.code, 2, stray.out);
  });
});

// `jit-jump check-config` as an operator runs it (the real CLI in a child process): the version warning for a
// jump server below OpenSSH 9.1 (a real sshd announcing 8.9), --offline, a broker key others can read, and
// the exit codes: 0 without errors (warnings allowed), 1 with any error, 2 for a command it does not know.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { freePort } from '../../src/sandbox/processes.ts';
import { startOldSshd } from '../support/old-sshd.ts';
import { generateUserKey, type SshdProcess } from '../support/sshd.ts';
import { jitJump } from '../support/cli.ts';


describe('check-config end to end', () => {
  let dir: string;
  let old: SshdProcess;
  let brokerKey: { privateKeyPath: string; publicKey: string };
  const policy = (jump: { port: number; hostKey: string; user: string; authorizedKeysPath: string }, extra: Record<string, unknown> = {}) => ({
    auditChannel: 'C0AUDIT',
    jumpHosts: [{ name: 'bastion', address: '127.0.0.1', privateKeyPath: brokerKey.privateKeyPath, ...jump, ...extra }],
    hosts: [{ name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE'] }],
  });
  const oldJump = () => ({ port: old.port, hostKey: old.hostKeyFingerprint, user: old.user, authorizedKeysPath: old.authorizedKeysPath });
  const write = (name: string, p: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, stringify(p));
    return path;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-check-config-'));
    brokerKey = generateUserKey(dir, 'broker');
    old = await startOldSshd({ dir, name: 'old-jump', version: '8.9', authorizedKeysContent: `restrict ${brokerKey.publicKey}\n` });
  });
  after(async () => {
    await old?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns about a jump server older than OpenSSH 9.1, and exits 0 (a warning is not an error)', async () => {
    // The fixture's own sshd_config carries the forwarding hardening DESIGN.md asks for.
    const r = await jitJump(['check-config', '--sshd-config', join(old.dir, 'sshd_config'), '--config', write('old.yaml', policy(oldJump()))]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /ok {4}jumpHosts bastion: .* host key SHA256:\S+ matches; server SSH-2\.0-OpenSSH_8\.9/);
    assert.ok(
      r.out.includes(`ok    jumpHosts bastion: sshd forwarding hardening for ${old.user}: AllowTcpForwarding local, PermitListen none, AllowStreamLocalForwarding no (read ${join(old.dir, 'sshd_config')})`),
      r.out,
    );
    assert.match(r.out, /warn {2}jumpHosts bastion: sshd is older than OpenSSH 9\.1, so keys carry no expiry-time; access ends only when the broker removes the line/);
    assert.match(r.out, /warn {2}jumpHosts bastion: no sshdLog: connections are not reported per grant, and live sessions outlast their grant/);
    assert.match(r.out, /0 error\(s\), 2 warning\(s\)/);
  });

  it('warns when the authorized_keys file is missing, and reads the forwarding hardening from sshd_config, its Include files and Match blocks', async () => {
    // What sshd would give the jump account: the first value wins, a matching Match block overrides it.
    mkdirSync(join(dir, 'conf.d'), { recursive: true });
    writeFileSync(join(dir, 'conf.d', '10-stream.conf'), 'AllowStreamLocalForwarding yes\n');
    writeFileSync(join(dir, 'conf.d', 'ignored.txt'), 'PermitListen any\n');
    const weak = join(dir, 'weak_sshd_config');
    writeFileSync(
      weak,
      [
        '# a jump server whose hardening has holes',
        'Include conf.d/*.conf',
        'AllowTcpForwarding local',
        'PermitListen none',
        'AllowStreamLocalForwarding no',
        'Match User someone-else',
        '  AllowTcpForwarding yes',
        `Match User ${old.user},other`,
        '  PermitListen any',
        'Match Group wheel',
        '  AllowTcpForwarding yes',
        '',
      ].join('\n'),
    );
    const missingKeys = { ...oldJump(), authorizedKeysPath: join(dir, 'nope', 'authorized_keys') };
    const r = await jitJump(['check-config', '--sshd-config', weak, '--config', write('weak.yaml', policy(missingKeys, { utcExpiryOnOldServers: true }))]);
    assert.equal(r.code, 0, `warnings only: ${r.out}`);
    const warns = r.out.split('\n').filter((l) => l.startsWith('warn  ') && !l.includes('expiry-time'));
    assert.deepEqual(warns, [
      `warn  jumpHosts bastion: ${join(dir, 'nope', 'authorized_keys')} does not exist for ${old.user}; the first grant would create it (mode 0600): check the path if sshd reads another file`,
      `warn  jumpHosts bastion: sshd gives ${old.user} PermitListen any (from ${weak} (Match User ${old.user},other)); set PermitListen none: the key line's port-forwarding cannot forbid it`,
      `warn  jumpHosts bastion: sshd gives ${old.user} AllowStreamLocalForwarding yes (from ${join(dir, 'conf.d', '10-stream.conf')}); set AllowStreamLocalForwarding no: the key line's port-forwarding cannot forbid it`,
      `warn  jumpHosts bastion: AllowTcpForwarding yes is set under "Match Group wheel", which check-config cannot evaluate; make sure it does not apply to ${old.user}`,
      'warn  jumpHosts bastion: no sshdLog: connections are not reported per grant, and live sessions outlast their grant (set sshdLog, see README "Jump server setup")',
    ]);
    assert.match(r.out, /0 error\(s\), 6 warning\(s\)/, 'the five and the declared-UTC expiry note');

    const unreadable = await jitJump(['check-config', '--sshd-config', join(dir, 'no_sshd_config'), '--config', write('unreadable.yaml', policy(oldJump(), { utcExpiryOnOldServers: true }))]);
    assert.equal(unreadable.code, 0, unreadable.out);
    assert.ok(
      unreadable.out.includes(
        `warn  jumpHosts bastion: could not check sshd's forwarding hardening: ${join(dir, 'no_sshd_config')} does not exist; make sure ${old.user} has AllowTcpForwarding local, PermitListen none, AllowStreamLocalForwarding no`,
      ),
      unreadable.out,
    );
  });

  it('says keys carry local time when the operator declares the old server runs in UTC', async () => {
    const r = await jitJump(['check-config', '--config', write('old-utc.yaml', policy(oldJump(), { utcExpiryOnOldServers: true }))]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /warn {2}jumpHosts bastion: sshd is older than 9\.1; expiry-time is written as local time \(declared UTC\)/);
  });

  it('--offline checks the file and keys without connecting; online, an unreachable jump server is an error (exit 1)', async () => {
    const nobody = { port: await freePort(), hostKey: old.hostKeyFingerprint, user: old.user, authorizedKeysPath: old.authorizedKeysPath };
    const path = write('unreachable.yaml', policy(nobody));
    const offline = await jitJump(['check-config', '--offline', '--config', path]);
    assert.equal(offline.code, 0, offline.out);
    assert.match(offline.out, /ok {4}jumpHosts bastion: private key /);
    assert.match(offline.out, /ok {4}host \S+: owners .*; requesters anyone/, 'the effective policy per host');
    assert.doesNotMatch(offline.out, /host key|server SSH|127\.0\.0\.1:/, 'no connection attempted');
    assert.match(offline.out, /0 error\(s\), 0 warning\(s\)/);
    const online = await jitJump(['check-config', '--config', path]);
    assert.equal(online.code, 1, online.out);
    assert.match(online.out, /error jumpHosts bastion: /);
    assert.match(online.out, /1 error\(s\)/);
  });

  it('reports a broker private key readable by others, naming the field and the file (exit 1)', async () => {
    const loose = join(dir, 'loose_key');
    copyFileSync(brokerKey.privateKeyPath, loose);
    chmodSync(loose, 0o644);
    for (const args of [['--offline'], []]) {
      const r = await jitJump(['check-config', ...args, '--config', write('loose.yaml', policy(oldJump(), { privateKeyPath: loose }))]);
      assert.equal(r.code, 1, r.out);
      assert.ok(
        r.out.includes(`error jumpHosts bastion: privateKeyPath ${loose} is readable by group or others (mode 644): run chmod 600 ${loose}`),
        r.out,
      );
    }
  });

  it('a wrong policy field is named (exit 1); an unknown command prints the usage (exit 2)', async () => {
    const bad = policy(oldJump()) as { hosts: Record<string, unknown>[] };
    bad.hosts[0]!.jumpHost = 'bastoin';
    const r = await jitJump(['check-config', '--offline', '--config', write('bad.yaml', bad)]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /error .*bad\.yaml is invalid:\n\s+hosts\[0\]\.jumpHost: no jump host named "bastoin" in jumpHosts/);
    const unknown = await jitJump(['frobnicate']);
    assert.equal(unknown.code, 2, unknown.out);
    assert.match(unknown.out, /unknown command "frobnicate"/);
    assert.match(unknown.out, /usage: jit-jump <command>/);
  });
});

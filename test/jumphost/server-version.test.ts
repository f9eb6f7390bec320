import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expiryWarning } from '../../src/check-config.ts';
import type { JumpHostConfig } from '../../src/config/policy.ts';
import { expiryFormatFor } from '../../src/jumphost/jump-host-sync.ts';
import { parseServerVersion, supportsExpiryTime, supportsUtcExpiry } from '../../src/jumphost/server-version.ts';

describe('parseServerVersion', () => {
  it('reads OpenSSH with a distribution suffix', () => {
    assert.deepEqual(parseServerVersion('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6'), {
      raw: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6',
      software: 'OpenSSH_9.2p1',
      openssh: { major: 9, minor: 2 },
    });
  });

  it('reads releases without a portable suffix, two-digit minors, 1.99 and a trailing CRLF', () => {
    assert.deepEqual(parseServerVersion('SSH-2.0-OpenSSH_10.0').openssh, { major: 10, minor: 0 });
    assert.deepEqual(parseServerVersion('SSH-2.0-OpenSSH_7.10p1').openssh, { major: 7, minor: 10 });
    assert.deepEqual(parseServerVersion('SSH-1.99-OpenSSH_7.4').openssh, { major: 7, minor: 4 });
    assert.equal(parseServerVersion('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n').raw, 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13');
  });

  it('leaves openssh unset for other servers', () => {
    const v = parseServerVersion('SSH-2.0-dropbear_2022.83');
    assert.equal(v.software, 'dropbear_2022.83');
    assert.equal(v.openssh, undefined);
    assert.equal(parseServerVersion('SSH-2.0-Go').openssh, undefined);
    // Only the software field counts: "OpenSSH" in the comment is not OpenSSH.
    assert.equal(parseServerVersion('SSH-2.0-libssh_0.10 like OpenSSH_9.9').openssh, undefined);
  });
});

describe('version gates', () => {
  const v = (s: string) => parseServerVersion(`SSH-2.0-${s}`);
  it('UTC expiry-time from OpenSSH 9.1', () => {
    assert.equal(supportsUtcExpiry(v('OpenSSH_9.0p1')), false);
    assert.equal(supportsUtcExpiry(v('OpenSSH_9.1p1')), true);
    assert.equal(supportsUtcExpiry(v('OpenSSH_9.2p1 Debian-2+deb12u6')), true);
    assert.equal(supportsUtcExpiry(v('OpenSSH_10.0')), true);
    assert.equal(supportsUtcExpiry(v('OpenSSH_8.9p1')), false);
  });
  it('expiry-time at all from OpenSSH 7.7', () => {
    assert.equal(supportsExpiryTime(v('OpenSSH_7.6p1')), false);
    assert.equal(supportsExpiryTime(v('OpenSSH_7.7p1')), true);
    assert.equal(supportsExpiryTime(v('OpenSSH_8.0')), true);
    assert.equal(supportsExpiryTime(v('OpenSSH_6.9')), false);
  });
  it('unknown or non-OpenSSH servers support neither', () => {
    assert.equal(supportsUtcExpiry(undefined), false);
    assert.equal(supportsExpiryTime(undefined), false);
    assert.equal(supportsUtcExpiry(v('dropbear_2022.83')), false);
  });
});

// DESIGN.md "The key line": expiry-time="…Z" from OpenSSH 9.1; below that none, or local time where the
// operator declares the server runs in UTC; below 7.7 none at all. check-config says so.
describe('expiry-time format per jump server, and what check-config warns', () => {
  const jh = (utcExpiryOnOldServers: boolean) => ({ utcExpiryOnOldServers }) as JumpHostConfig;
  const v = (s: string) => parseServerVersion(`SSH-2.0-${s}`);
  it('chooses utc, local or none by version and utcExpiryOnOldServers', () => {
    const cases: [string, boolean, string][] = [
      ['OpenSSH_9.2p1 Debian-2+deb12u6', false, 'utc'],
      ['OpenSSH_9.1p1', false, 'utc'],
      ['OpenSSH_9.1p1', true, 'utc'],
      ['OpenSSH_9.0p1', false, 'none'],
      ['OpenSSH_9.0p1', true, 'local'],
      ['OpenSSH_7.7p1', true, 'local'],
      ['OpenSSH_7.6p1', true, 'none'],
      ['OpenSSH_7.4', false, 'none'],
      ['dropbear_2022.83', false, 'utc'],
    ];
    for (const [server, declared, format] of cases) assert.equal(expiryFormatFor(v(server), jh(declared)), format, `${server} utcExpiryOnOldServers=${declared}`);
    assert.equal(expiryFormatFor(undefined, jh(false)), 'utc');
  });
  it('warns for every server that will not get expiry-time="…Z" as written, and not for a current OpenSSH', () => {
    assert.equal(expiryWarning(v('OpenSSH_9.2p1'), jh(false)), undefined);
    assert.match(expiryWarning(v('OpenSSH_9.0p1'), jh(false)) ?? '', /older than OpenSSH 9\.1, so keys carry no expiry-time/);
    assert.match(expiryWarning(v('OpenSSH_9.0p1'), jh(true)) ?? '', /local time/);
    assert.match(expiryWarning(v('OpenSSH_7.6p1'), jh(true)) ?? '', /older than OpenSSH 7\.7/);
    assert.match(expiryWarning(v('dropbear_2022.83'), jh(false)) ?? '', /"SSH-2\.0-dropbear_2022\.83" is not OpenSSH/);
    assert.match(expiryWarning(undefined, jh(false)) ?? '', /"unknown" is not OpenSSH/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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

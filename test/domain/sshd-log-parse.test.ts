// Parsing sshd's log (issue #12): journald records, syslog lines and the OpenSSH 9.2 messages the broker follows.
// The parts a client controls (user name, tunnel host, originator, disconnect text) must never fake another field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hostPort, isIpAddress, isIPv4, isIPv6, isTargetHost } from '../../src/domain/ip-address.ts';
import { parseJournalRecord, parseSshdMessage, parseSyslogLine } from '../../src/domain/sshd-log-parse.ts';
import type { LogEntry } from '../../src/domain/sshd-log.ts';
import { FC_RUNS } from './fixtures.ts';

const FP = `SHA256:${'Qx9+/'.repeat(8)}abc`;
const FAKE_FP = `SHA256:${'A'.repeat(43)}`;
const at = Date.UTC(2026, 11, 2, 12, 0, 0);
const msg = (message: string, pid = 4242): LogEntry => ({ at, pid, message });
const parse = (message: string, pid = 4242) => parseSshdMessage(msg(message, pid));

describe('addresses', () => {
  it('accepts IPv4 and IPv6 exactly', () => {
    for (const ok of ['203.0.113.7', '0.0.0.0', '255.255.255.255']) assert.ok(isIPv4(ok), ok);
    for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '']) assert.ok(!isIPv4(bad), bad);
    for (const ok of ['::', '::1', '2001:db8::5', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::ffff:192.0.2.1', 'fe80::1%eth0', '64:ff9b::1.2.3.4'])
      assert.ok(isIPv6(ok), ok);
    for (const bad of [':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '12345::', ':1', '1:', 'g::1', '1.2.3.4::', '[::1]', '::1 port 2'])
      assert.ok(!isIPv6(bad), bad);
    assert.ok(isIpAddress('::1') && isIpAddress('10.0.0.5') && !isIpAddress('host.example'));
  });

  it('names tunnel hosts as permitopen writes them', () => {
    assert.ok(isTargetHost('db-1.internal') && isTargetHost('10.0.0.5') && isTargetHost('2001:db8::5'));
    for (const bad of ['-x', 'a b', 'a,b', 'a;b', '', 'x'.repeat(254)]) assert.ok(!isTargetHost(bad), bad);
    assert.equal(hostPort('10.0.0.5', 22), '10.0.0.5:22');
    assert.equal(hostPort('2001:db8::5', 22), '[2001:db8::5]:22');
  });
});

describe('parseJournalRecord', () => {
  const record = (fields: Record<string, unknown>) =>
    JSON.stringify({ __CURSOR: 's=ab;i=1f;b=cd;m=2;t=3;x=4', __REALTIME_TIMESTAMP: '1796212800123999', _PID: '4242', MESSAGE: 'User child is on pid 4243', ...fields });

  it('reads cursor, time (µs to ms, rounded down), pid and message; ignores other fields', () => {
    assert.deepEqual(parseJournalRecord(record({ __MONOTONIC_TIMESTAMP: '1', _BOOT_ID: 'x' })), {
      cursor: 's=ab;i=1f;b=cd;m=2;t=3;x=4',
      at: 1796212800123,
      pid: 4242,
      message: 'User child is on pid 4243',
    });
  });

  it('when _COMM is there too, takes the lines of sshd processes only (anyone may log as "sshd")', () => {
    assert.equal(parseJournalRecord(record({ _COMM: 'sshd' }))?.pid, 4242);
    assert.equal(parseJournalRecord(record({ _COMM: 'sshd-session' }))?.pid, 4242);
    for (const comm of ['logger', 'bash', '', ['sshd'], null]) assert.equal(parseJournalRecord(record({ _COMM: comm })), undefined, String(comm));
  });

  it('decodes a MESSAGE given as bytes, invalid UTF-8 as U+FFFD', () => {
    assert.equal(parseJournalRecord(record({ MESSAGE: [104, 195, 169, 10, 255] }))?.message, 'hé\n\uFFFD');
    assert.equal(parseJournalRecord(record({ MESSAGE: [] }))?.message, '');
  });

  it('refuses anything malformed', () => {
    const bad = [
      '',
      'not json',
      '[]',
      'null',
      '"s"',
      record({ __CURSOR: undefined }),
      record({ __CURSOR: '' }),
      record({ __CURSOR: 7 }),
      record({ __REALTIME_TIMESTAMP: 1796212800123999 }),
      record({ __REALTIME_TIMESTAMP: '-1' }),
      record({ __REALTIME_TIMESTAMP: '1e15' }),
      record({ __REALTIME_TIMESTAMP: '99999999999999999999' }),
      record({ _PID: '0' }),
      record({ _PID: '12a' }),
      record({ _PID: 4242 }),
      record({ _PID: '99999999999' }),
      record({ MESSAGE: null }),
      record({ MESSAGE: ['two', 'values'] }),
      record({ MESSAGE: [104, 256] }),
      record({ MESSAGE: [104, -1] }),
      record({ MESSAGE: [1.5] }),
      record({ MESSAGE: { a: 1 } }),
      record({ MESSAGE: undefined }),
      record({}).slice(0, -1),
    ];
    for (const line of bad) assert.equal(parseJournalRecord(line), undefined, line);
  });

  it('round-trips any well-formed record and never throws (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 0, max: 4e15 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.string(), (cursor, us, pid, message) => {
        const line = JSON.stringify({ __CURSOR: cursor, __REALTIME_TIMESTAMP: String(us), _PID: String(pid), MESSAGE: message });
        assert.deepEqual(parseJournalRecord(line), { cursor, at: Math.floor(us / 1000), pid, message });
      }),
      { numRuns: FC_RUNS },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ __CURSOR: 'c', __REALTIME_TIMESTAMP: '1', _PID: '1', MESSAGE: v }))), (line) => {
        const r = parseJournalRecord(line);
        if (r) assert.ok(typeof r.message === 'string' && Number.isInteger(r.pid) && Number.isInteger(r.at));
      }),
      { numRuns: FC_RUNS },
    );
  });
});

describe('parseSyslogLine', () => {
  const now = Date.UTC(2026, 11, 2, 13, 0, 0);

  it('reads RFC 3339 time stamps with any zone and fraction', () => {
    assert.deepEqual(parseSyslogLine('2026-12-02T12:00:00.123456+00:00 jump sshd[123]: Accepted x', now), { at: Date.UTC(2026, 11, 2, 12, 0, 0, 123), pid: 123, message: 'Accepted x' });
    assert.equal(parseSyslogLine('2026-12-02T12:00:00+01:00 jump sshd[1]: m', now)?.at, Date.UTC(2026, 11, 2, 11));
    assert.equal(parseSyslogLine('2026-12-02T12:00:00.5-05:30 jump sshd[1]: m', now)?.at, Date.UTC(2026, 11, 2, 17, 30, 0, 500));
    assert.equal(parseSyslogLine('2026-12-02T12:00:00Z jump sshd-session[9]: m', now)?.pid, 9);
  });

  it('reads traditional time stamps as UTC in now’s year, or the year before if that is more than a day ahead', () => {
    assert.deepEqual(parseSyslogLine('Dec  2 12:00:00 jump sshd[123]: msg  with  spaces ', now), { at: Date.UTC(2026, 11, 2, 12), pid: 123, message: 'msg  with  spaces ' });
    assert.equal(parseSyslogLine('Dec 12 08:09:10 jump sshd[1]: m', now)?.at, Date.UTC(2025, 11, 12, 8, 9, 10));
    const newYear = Date.UTC(2027, 0, 1, 0, 30);
    assert.equal(parseSyslogLine('Dec 31 23:59:00 jump sshd[1]: m', newYear)?.at, Date.UTC(2026, 11, 31, 23, 59));
    assert.equal(parseSyslogLine('Jan  1 23:00:00 jump sshd[1]: m', newYear)?.at, Date.UTC(2027, 0, 1, 23), 'a clock a little ahead stays in this year');
    assert.equal(parseSyslogLine('Jan  2 00:30:01 jump sshd[1]: m', newYear)?.at, Date.UTC(2026, 0, 2, 0, 30, 1), 'more than a day ahead: last year');
    assert.equal(parseSyslogLine('Feb 29 10:00:00 jump sshd[1]: m', Date.UTC(2029, 2, 1))?.at, Date.UTC(2028, 1, 29, 10), 'only last year had a Feb 29');
    assert.equal(parseSyslogLine('Feb 29 10:00:00 jump sshd[1]: m', Date.UTC(2027, 2, 1)), undefined);
  });

  it('takes sshd and sshd-session with a pid only, and valid times only', () => {
    const bad = [
      '2026-12-02T12:00:00+00:00 jump sudo[1]: m',
      '2026-12-02T12:00:00+00:00 jump sshd: m',
      '2026-12-02T12:00:00+00:00 jump sshd[]: m',
      '2026-12-02T12:00:00+00:00 jump sshd[0]: m',
      '2026-12-02T12:00:00+00:00 jump sshd[x1]: m',
      '2026-12-02T12:00:00+00:00 jump xsshd[1]: m',
      '2026-12-02T12:00:00+00:00 jump sshd-auth[1]: m',
      '2026-12-02T12:00:00+00:00 jump sshd[1] m',
      '2026-12-02T12:00:00 jump sshd[1]: m',
      '2026-13-02T12:00:00Z jump sshd[1]: m',
      '2026-02-30T12:00:00Z jump sshd[1]: m',
      '2026-12-02T24:00:00Z jump sshd[1]: m',
      '2026-12-02T12:60:00Z jump sshd[1]: m',
      '2026-12-02T12:00:00+24:00 jump sshd[1]: m',
      'Foo  2 12:00:00 jump sshd[1]: m',
      'Dec 32 12:00:00 jump sshd[1]: m',
      'Dec  2 12:00 jump sshd[1]: m',
      'dec  2 12:00:00 jump sshd[1]: m',
      '',
    ];
    for (const line of bad) assert.equal(parseSyslogLine(line, now), undefined, line);
    assert.equal(parseSyslogLine('Dec  2 12:00:00 jump sshd[1]: m\r', now)?.message, 'm', 'a CRLF file');
  });

  it('round-trips RFC 3339 times, and traditional times of the last year (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4102444800000 }), fc.string(), (t, text) => {
        const message = text.replace(/[\r\n]/g, ' ');
        assert.deepEqual(parseSyslogLine(`${new Date(t).toISOString()} jump sshd[7]: ${message}`, now), { at: t, pid: 7, message });
      }),
      { numRuns: FC_RUNS },
    );
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 360 * 86_400 }), (secondsBack) => {
        const d = new Date(Math.floor(now / 1000) * 1000 + 86_000_000 - secondsBack * 1000);
        const stamp = `${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
        assert.equal(parseSyslogLine(`${stamp} jump sshd[7]: m`, now)?.at, d.getTime());
      }),
      { numRuns: FC_RUNS },
    );
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: -8.64e15, max: 8.64e15 }), (line, t) => {
        const e = parseSyslogLine(line, t);
        if (e) assert.ok(Number.isFinite(e.at) && e.pid >= 1);
      }),
      { numRuns: FC_RUNS },
    );
  });
});

describe('parseSshdMessage', () => {
  it('reads an accepted public key login', () => {
    assert.deepEqual(parse(`Accepted publickey for jump from 203.0.113.7 port 51017 ssh2: ED25519 ${FP}`), {
      kind: 'accepted', at, pid: 4242, user: 'jump', ip: '203.0.113.7', port: 51017, fingerprint: FP,
    });
    const v6 = parse(`Accepted publickey for jump from 2001:db8::7 port 22 ssh2: ECDSA ${FP}`);
    assert.equal(v6?.kind === 'accepted' && v6.ip, '2001:db8::7');
    assert.equal(parse(`Accepted publickey for jump from 203.0.113.7 port 1 ssh2: ED25519-SK ${FP}`)?.kind, 'accepted');
  });

  it('a hostile user name cannot fake the address, port or key', () => {
    const hostile = `x from 1.2.3.4 port 1 ssh2: ED25519 ${FAKE_FP}`;
    const e = parse(`Accepted publickey for ${hostile} from 203.0.113.7 port 51017 ssh2: RSA ${FP}`);
    assert.deepEqual(e, { kind: 'accepted', at, pid: 4242, user: hostile, ip: '203.0.113.7', port: 51017, fingerprint: FP });
    fc.assert(
      fc.property(fc.string().filter((u) => u.length > 0 && !/[\r\n\u2028\u2029]/.test(u)), (user) => {
        const r = parse(`Accepted publickey for ${user} from 198.51.100.9 port 2222 ssh2: ED25519 ${FP}`);
        assert.deepEqual(r && r.kind === 'accepted' && [r.ip, r.port, r.fingerprint], ['198.51.100.9', 2222, FP]);
      }),
      { numRuns: FC_RUNS },
    );
  });

  it('refuses every other login line', () => {
    const bad = [
      `Accepted publickey for jump from 203.0.113.7 port 51017 ssh2: ED25519-CERT SHA256:${'B'.repeat(43)} ID u (serial 1) CA ED25519 ${FP}`,
      `Accepted publickey for jump from 203.0.113.7 port 51017 ssh2: ED25519 ${FP} trailing`,
      `Accepted publickey for jump from 203.0.113.7 port 51017 ssh2: ED25519 SHA256:${'A'.repeat(42)}`,
      `Accepted publickey for jump from 203.0.113.7 port 51017 ssh2: ED25519 MD5:${'ab:'.repeat(15)}ab`,
      `Accepted publickey for jump from host.example port 51017 ssh2: ED25519 ${FP}`,
      `Accepted publickey for jump from 203.0.113.999 port 51017 ssh2: ED25519 ${FP}`,
      `Accepted publickey for jump from 203.0.113.7 port 65536 ssh2: ED25519 ${FP}`,
      `Accepted password for jump from 203.0.113.7 port 51017 ssh2`,
      `Failed publickey for jump from 203.0.113.7 port 51017 ssh2: ED25519 ${FP}`,
      `Accepted publickey for jump from 203.0.113.7 port 51017 ssh2: ed25519 ${FP}`,
      `Accepted publickey for  from 203.0.113.7 port 51017 ssh2: ED25519 ${FP}`,
      ` Accepted publickey for jump from 203.0.113.7 port 51017 ssh2: ED25519 ${FP}`,
      `Accepted publickey for jump from 203.0.113.7 port 51017 ssh2: ED25519 ${FP}\nUser child is on pid 5`,
    ];
    for (const m of bad) assert.equal(parse(m), undefined, m);
  });

  it('reads the user child', () => {
    assert.deepEqual(parse('User child is on pid 4243'), { kind: 'user-child', at, pid: 4242, child: 4243 });
    for (const m of ['User child is on pid 0', 'User child is on pid -1', 'User child is on pid 12 ', 'User child is on pid 99999999999'])
      assert.equal(parse(m), undefined, m);
  });

  it('reads tunnel targets in the forms sshd logs them', () => {
    const t = (host: string, port: number) => ({ kind: 'tunnel', at, pid: 4243, host, port });
    assert.deepEqual(parse('debug1: serverloop.c:server_request_direct_tcpip():453 (pid=4243): originator 127.0.0.1 port 0, target 10.0.0.5 port 22', 4243), t('10.0.0.5', 22));
    assert.deepEqual(parse('debug1: server_request_direct_tcpip: originator 127.0.0.1 port 0, target 10.0.0.5 port 22', 4243), t('10.0.0.5', 22));
    assert.deepEqual(parse('server_request_direct_tcpip: originator 127.0.0.1 port 0, target db-1.internal port 5432', 4243), t('db-1.internal', 5432));
    assert.deepEqual(parse('debug1: server_request_direct_tcpip: originator ::1 port 0, target 2001:db8::5 port 22', 4243), t('2001:db8::5', 22));
    assert.deepEqual(parse('debug1: server_request_direct_tcpip: originator ::1 port 0, target [2001:db8::5] port 22', 4243), t('2001:db8::5', 22));
  });

  it('a hostile originator or target cannot fake the target', () => {
    const e = parse('debug1: server_request_direct_tcpip: originator x port 1, target 10.0.0.5 port 22 port 0, target 10.0.0.9 port 3389', 4243);
    assert.equal(e?.kind === 'tunnel' && `${e.host}:${e.port}`, '10.0.0.9:3389');
    const bad = [
      'debug1: server_request_direct_tcpip: originator 127.0.0.1 port 0, target 10.0.0.5 port 22, target 10.0.0.9 port 22 x',
      'debug1: server_request_direct_tcpip: originator 127.0.0.1 port 0, target evil host port 22',
      'debug1: server_request_direct_tcpip: originator 127.0.0.1 port 0, target [db-1] port 22',
      'debug1: server_request_direct_tcpip: originator 127.0.0.1 port 0, target 10.0.0.5 port 70000',
      'debug1: other_function: originator 127.0.0.1 port 0, target 10.0.0.5 port 22',
      'originator 127.0.0.1 port 0, target 10.0.0.5 port 22',
    ];
    for (const m of bad) assert.equal(parse(m), undefined, m);
  });

  it('reads refused tunnels', () => {
    const d = (host: string, port: number) => ({ kind: 'tunnel-denied', at, pid: 4243, host, port });
    assert.deepEqual(parse('Received request from 203.0.113.7 port 51017 to connect to host 10.0.0.6 port 23, but the request was denied.', 4243), d('10.0.0.6', 23));
    assert.deepEqual(parse('Received request from 2001:db8::7 port 51017 to connect to host 2001:db8::6 port 23, but the request was denied.', 4243), d('2001:db8::6', 23));
    assert.deepEqual(parse('refused local port forward: originator 127.0.0.1 port 0, target 10.0.0.6 port 23', 4243), d('10.0.0.6', 23));
    assert.equal(parse('Received request from evil port 1 to connect to host 10.0.0.6 port 23, but the request was denied.'), undefined);
    assert.equal(parse('Received request from 203.0.113.7 port 51017 to connect to host 10.0.0.6 port 23, but the request was denied'), undefined);
  });

  it('reads the end of a connection in each form', () => {
    const ends = [
      'Disconnected from user jump 203.0.113.7 port 51017',
      'Disconnected from 203.0.113.7 port 51017',
      'Connection closed by 203.0.113.7 port 51017',
      'Connection closed by user jump 2001:db8::7 port 51017',
      'Connection closed by authenticating user jump 203.0.113.7 port 51017 [preauth]',
      'Disconnected from invalid user x y 203.0.113.7 port 51017 [preauth]',
      'Received disconnect from 203.0.113.7 port 51017:11: disconnected by user',
      'Received disconnect from 203.0.113.7 port 51017:11:',
      'error: Received disconnect from 203.0.113.7 port 51017:3: com.jcraft.jsch.JSchException: Auth fail [preauth]',
      'Connection reset by 203.0.113.7 port 51017',
      'pam_unix(sshd:session): session closed for user jump',
      'Timeout, client not responding from user jump 203.0.113.7 port 51017',
    ];
    // Every form but PAM's names the remote end: the connection it closes, whichever process logged it.
    for (const m of ends) {
      const ip = m.includes('2001:db8::7') ? '2001:db8::7' : '203.0.113.7';
      assert.deepEqual(parse(m), m.startsWith('pam_unix') ? { kind: 'closed', at, pid: 4242 } : { kind: 'closed', at, pid: 4242, ip, port: 51017 }, m);
    }
    const bad = ['Connection closed by host.example port 1', 'Connection closed by 203.0.113.7', 'Disconnected from user jump', 'pam_unix(sshd:session): session opened for user jump', 'Received disconnect from x port 1:11: bye'];
    for (const m of bad) assert.equal(parse(m), undefined, m);
  });

  it('never throws, and keeps the entry’s time and pid (property)', () => {
    const pieces = fc.constantFrom('Accepted publickey for ', ' from ', '203.0.113.7', ' port ', '22', ' ssh2: ', 'ED25519 ', FP, 'User child is on pid ', 'debug1: server_request_direct_tcpip: originator ', ', target ', '::1', 'Connection closed by ', '[preauth]', ' ', ':');
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, fc.string({ maxLength: 4 })), { maxLength: 14 }), fc.integer({ min: 1, max: 99999 }), (parts, pid) => {
        const e = parseSshdMessage({ at, pid, message: parts.join('') });
        if (e) assert.ok(e.at === at && e.pid === pid);
      }),
      { numRuns: FC_RUNS },
    );
  });
});

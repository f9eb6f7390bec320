import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { EnvError, readEnv, readRedisEnv } from '../../src/config/env.ts';
import { loadPolicy, PolicyError, policySchema, validatePolicy } from '../../src/config/policy.ts';
import { parseDuration } from '../../src/domain/duration.ts';
import type { z } from 'zod';

describe('policy', () => {
  const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
  const H = 3_600_000;
  const M = 60_000;

  // DESIGN.md's policy, verbatim except the hostKey placeholder.
  const DESIGN_YAML = `
auditChannel: C0AUDIT            # every audit event is posted here
approvalChannel: C0APPROVALS     # optional; owners are also DMed
defaults: { duration: 1h, minDuration: 1m, maxDuration: 8h, requireReason: true, approvals: 1 }  # minDuration defaults to 1m
jumpHosts:
  - name: bastion
    address: jump.example.com    # what the broker connects to
    port: 22
    user: jump                   # the account engineers jump as; its authorized_keys holds the managed block
    hostKey: "${FP}"    # pinned; the broker refuses any other key
    privateKeyPath: /run/secrets/broker_ed25519
    authorizedKeysPath: .ssh/authorized_keys   # absolute, or relative to the jump account's home
    publicAddress: bastion.example.com   # optional: what engineers type after -J (defaults to address)
    publicPort: 22                       # optional: the port engineers use (defaults to port)
hosts:
  - name: db-prod-1
    address: 10.0.0.5
    port: 22
    jumpHost: bastion
    loginUser: postgres          # shown in the connect instructions
    owners: [U0ALICE, S0DBTEAM]  # Slack user IDs or user-group IDs
    maxDuration: 2h
    approvals: 2
  `;

  type Raw = {
    auditChannel?: unknown;
    defaults?: Record<string, unknown>;
    jumpHosts: Record<string, unknown>[];
    hosts: Record<string, unknown>[];
    [k: string]: unknown;
  };

  const minimal = (): Raw => ({
    auditChannel: 'C0AUDIT',
    jumpHosts: [{ name: 'bastion', address: 'jump.example.com', user: 'jump', hostKey: FP, privateKeyPath: '/k' }],
    hosts: [{ name: 'db-prod-1', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE', 'S0DBTEAM'] }],
  });

  function errorOf(raw: unknown): string {
    try {
      validatePolicy(raw);
    } catch (err) {
      assert.ok(err instanceof PolicyError, String(err));
      return err.message;
    }
    assert.fail('expected the policy to be refused');
  }

  /** The "  path: message" lines of a PolicyError. */
  function issues(raw: unknown): string[] {
    return errorOf(raw).split('\n').slice(1).map((l) => l.trim());
  }

  describe('policy: valid', () => {
    it('parses DESIGN.md’s policy and fills the defaults', () => {
      const p = validatePolicy(parse(DESIGN_YAML));
      assert.equal(p.auditChannel, 'C0AUDIT');
      assert.equal(p.approvalChannel, 'C0APPROVALS');
      assert.deepEqual(p.defaults, {
        duration: H,
        minDuration: M,
        maxDuration: 8 * H,
        requireReason: true,
        approvals: 1,
        approvalTimeout: 24 * H,
        expiryWarning: 10 * M,
        remindAfter: 15 * M,
        selfExtend: 0,
      });
      assert.deepEqual(p.jumpHosts[0], {
        name: 'bastion',
        address: 'jump.example.com',
        port: 22,
        user: 'jump',
        hostKey: FP,
        privateKeyPath: '/run/secrets/broker_ed25519',
        authorizedKeysPath: '.ssh/authorized_keys',
        publicAddress: 'bastion.example.com',
        publicPort: 22,
        utcExpiryOnOldServers: false,
        retired: false,
        endSessions: false,
      });
      assert.deepEqual(p.hosts[0], {
        name: 'db-prod-1',
        address: '10.0.0.5',
        port: 22,
        jumpHost: 'bastion',
        loginUser: 'postgres',
        owners: ['U0ALICE', 'S0DBTEAM'],
        maxDuration: 2 * H,
        approvals: 2,
      });
    });

    it('fills every default of a minimal policy (minDuration 1m)', () => {
      const p = validatePolicy(minimal());
      assert.equal(p.defaults.minDuration, M);
      assert.equal(p.defaults.duration, H);
      assert.equal(p.defaults.maxDuration, 8 * H);
      assert.equal(p.defaults.requireReason, true);
      assert.equal(p.defaults.approvals, 1);
      assert.equal(p.defaults.approvalTimeout, 24 * H);
      assert.equal(p.defaults.expiryWarning, 10 * M);
      assert.equal(p.approvalChannel, undefined);
      assert.equal(p.jumpHosts[0]!.port, 22);
      assert.equal(p.jumpHosts[0]!.authorizedKeysPath, '.ssh/authorized_keys');
      assert.equal(p.jumpHosts[0]!.publicAddress, undefined);
      assert.equal(p.hosts[0]!.port, 22);
      assert.equal(p.hosts[0]!.loginUser, 'root');
      assert.equal(p.hosts[0]!.maxDuration, undefined, 'a host without its own maximum uses the default at run time');
    });

    it('keeps the audit trail 400 days unless told, takes auditors, and refuses a retention under a day or not a duration', () => {
      const p = validatePolicy(minimal());
      assert.equal(p.audit.retention, 400 * 24 * H);
      assert.deepEqual(p.auditors, []);
      const set = validatePolicy({ ...minimal(), auditors: ['U0AUDIT', 'S0SEC'], audit: { retention: '2000d' } });
      assert.equal(set.audit.retention, 2000 * 24 * H);
      assert.deepEqual(set.auditors, ['U0AUDIT', 'S0SEC']);
      assert.deepEqual(issues({ ...minimal(), audit: { retention: '12h' } }), ['audit.retention: must be at least 1d']);
      assert.match(issues({ ...minimal(), audit: { retention: 'forever' } })[0]!, /^audit\.retention: "forever" is not a duration/);
      assert.match(issues({ ...minimal(), auditors: ['C0NOTAUSER'] })[0]!, /^auditors\[0\]: must be a user \(U…\) or user-group \(S…\) ID/);
    });

    it('posts the digest at 09:00 UTC unless told, and refuses a time or time zone that is not one, naming the field', () => {
      assert.deepEqual(validatePolicy(minimal()).audit.digest, { at: '09:00', timezone: 'UTC' });
      const set = validatePolicy({ ...minimal(), audit: { digest: { at: '23:59', timezone: 'Europe/Berlin' } } });
      assert.deepEqual(set.audit.digest, { at: '23:59', timezone: 'Europe/Berlin' });
      assert.equal(set.audit.retention, 400 * 24 * H, 'retention keeps its default beside a digest');
      for (const at of ['24:00', '9:00', '12:60', '0900', ' 09:00', '09:00:60', '09:00:5'])
        assert.deepEqual(issues({ ...minimal(), audit: { digest: { at } } }), ['audit.digest.at: must be a local time of day "HH:MM" (or "HH:MM:SS") from 00:00 to 23:59, such as "09:00"'], at);
      assert.deepEqual(issues({ ...minimal(), audit: { digest: { timezone: 'Mars/Olympus' } } }), ['audit.digest.timezone: must be an IANA time zone such as Europe/Berlin']);
      assert.deepEqual(issues({ ...minimal(), audit: { digest: { at: '09:00', when: 'daily' } } }), ['audit.digest.when: unknown field (a typo?)']);
    });

    it('fills the defaults left out of a partial defaults block', () => {
      const p = validatePolicy({ ...minimal(), defaults: { maxDuration: '2h', approvals: 1 } });
      assert.equal(p.defaults.maxDuration, 2 * H);
      assert.equal(p.defaults.minDuration, M);
      assert.equal(p.defaults.duration, H);
    });

    it('accepts hostnames, IPv4, IPv6 and bracketed IPv6 addresses', () => {
      for (const address of ['db-1.internal.example', '10.0.0.5', 'fd00::5', '[fd00::5]', '::1', '::ffff:10.0.0.5', '2001:db8:0:0:0:0:0:1']) {
        const raw = minimal();
        raw.hosts[0]!.address = address;
        raw.jumpHosts[0]!.address = address;
        raw.jumpHosts[0]!.publicAddress = address;
        const p = validatePolicy(raw);
        assert.equal(p.hosts[0]!.address, address);
        assert.equal(p.jumpHosts[0]!.address, address);
        assert.equal(p.jumpHosts[0]!.publicAddress, address);
      }
    });

    it('lower-cases addresses: ssh lower-cases the name it asks the jump server for, permitopen matches case-sensitively', () => {
      const raw = minimal();
      raw.hosts[0]!.address = 'DB-1.Internal.Example';
      raw.jumpHosts[0]!.publicAddress = 'Bastion.Example.COM';
      raw.hosts.push({ name: 'v6', address: 'FD00::A', jumpHost: 'bastion', owners: ['S0X'] });
      const p = validatePolicy(raw);
      assert.equal(p.hosts[0]!.address, 'db-1.internal.example');
      assert.equal(p.jumpHosts[0]!.publicAddress, 'bastion.example.com');
      assert.equal(p.hosts[1]!.address, 'fd00::a');
    });

    it('the sample policy shipped with the project has the documented shape (its hostKey is a placeholder)', () => {
      const sample = parse(readFileSync('jit.config.example.yaml', 'utf8'));
      assert.deepEqual(issues(sample), ['jumpHosts[0].hostKey: must be an OpenSSH SHA256 fingerprint such as "SHA256:abc…" (ssh-keygen -lf)']);
      sample.jumpHosts[0].hostKey = FP;
      const p = validatePolicy(sample);
      assert.equal(p.hosts[0]!.approvals, 2);
    });
  });

  describe('policy: each error names the exact field', () => {
    it('missing auditChannel', () => {
      const { auditChannel: _, ...raw } = minimal();
      assert.deepEqual(issues(raw).map((l) => l.split(':')[0]), ['auditChannel']);
      assert.match(errorOf(raw), /^policy is invalid:\n {2}auditChannel: /);
    });

    it('bad hostKey', () => {
      for (const bad of ['abc', 'SHA256:short', `MD5:${'a'.repeat(43)}`, `${FP}=`, `SHA256:${'a'.repeat(42)}"`]) {
        const raw = minimal();
        raw.jumpHosts[0]!.hostKey = bad;
        assert.deepEqual(issues(raw), ['jumpHosts[0].hostKey: must be an OpenSSH SHA256 fingerprint such as "SHA256:abc…" (ssh-keygen -lf)'], bad);
      }
    });

    it('host referencing an unknown jump host', () => {
      const raw = minimal();
      raw.hosts[0]!.jumpHost = 'bastoin';
      assert.deepEqual(issues(raw), ['hosts[0].jumpHost: no jump host named "bastoin" in jumpHosts']);
    });

    it('duplicate host and jump host names', () => {
      const raw = minimal();
      raw.hosts.push({ ...raw.hosts[0]!, address: '10.0.0.6' });
      assert.deepEqual(issues(raw), ['hosts[1].name: duplicate host "db-prod-1"']);
      const raw2 = minimal();
      raw2.jumpHosts.push({ ...raw2.jumpHosts[0]! });
      assert.deepEqual(issues(raw2), ['jumpHosts[1].name: duplicate jump host "bastion"']);
    });

    it('bad duration strings, wherever they stand', () => {
      assert.deepEqual(issues({ ...minimal(), defaults: { maxDuration: '2 hours' } }), ['defaults.maxDuration: "2 hours" is not a duration (use e.g. 30m, 2h, 1d)']);
      assert.deepEqual(issues({ ...minimal(), defaults: { duration: '0m' } }), ['defaults.duration: "0m" is not a duration (use e.g. 30m, 2h, 1d)']);
      const raw = minimal();
      raw.hosts[0]!.maxDuration = '1.5h';
      assert.deepEqual(issues(raw), ['hosts[0].maxDuration: "1.5h" is not a duration (use e.g. 30m, 2h, 1d)']);
      assert.deepEqual(issues({ ...minimal(), defaults: { approvalTimeout: 3600 } }).map((l) => l.split(':')[0]), ['defaults.approvalTimeout']);
    });

    it('durations over 30 days, wherever they stand (an expiry past year 9999 would make the block unrenderable)', () => {
      const over = (v: string) => `"${v}" is longer than the 30d every duration is capped at`;
      assert.deepEqual(issues({ ...minimal(), defaults: { maxDuration: '3000000d' } }), [`defaults.maxDuration: ${over('3000000d')}`]);
      assert.deepEqual(issues({ ...minimal(), defaults: { duration: '31d', maxDuration: '30d' } }), [`defaults.duration: ${over('31d')}`]);
      const raw = minimal();
      raw.hosts[0]!.maxDuration = '720h1s';
      assert.deepEqual(issues(raw), [`hosts[0].maxDuration: ${over('720h1s')}`]);
      assert.deepEqual(issues({ ...minimal(), defaults: { approvalTimeout: '40d' } }), [`defaults.approvalTimeout: ${over('40d')}`]);
      // 30 days itself is allowed
      const ok = minimal();
      ok.hosts[0]!.maxDuration = '30d';
      assert.equal(validatePolicy({ ...ok, defaults: { maxDuration: '720h' } }).hosts[0]!.maxDuration, 30 * 24 * H);
    });

    it('unknown extra fields, at the top level and nested', () => {
      assert.deepEqual(issues({ ...minimal(), colour: 'blue' }), ['colour: unknown field (a typo?)']);
      const raw = minimal();
      raw.hosts[0]!.maxDurtion = '2h';
      raw.jumpHosts[0]!.hostkey = FP;
      assert.deepEqual(issues(raw).sort(), ['hosts[0].maxDurtion: unknown field (a typo?)', 'jumpHosts[0].hostkey: unknown field (a typo?)']);
      assert.deepEqual(issues({ ...minimal(), defaults: { aprovals: 2, foo: 1 } }).sort(), ['defaults.aprovals: unknown field (a typo?)', 'defaults.foo: unknown field (a typo?)']);
    });

    it('addresses that could break permitopen or a command line', () => {
      for (const bad of ['10.0.0.5",command="sh', '10.0.0.5 x', '-oProxyCommand=x', '', '10.0.0.5:22', 'a,b', ':::', '[fd00::1', 'fe80::1%eth0', '[db.internal]']) {
        const raw = minimal();
        raw.hosts[0]!.address = bad;
        assert.deepEqual(issues(raw), ['hosts[0].address: must be a hostname or IP address'], bad);
      }
      const raw = minimal();
      raw.jumpHosts[0]!.publicAddress = 'bastion example';
      assert.deepEqual(issues(raw), ['jumpHosts[0].publicAddress: must be a hostname or IP address']);
    });

    it('IPv4 only as a dotted quad: numeric, hex, octal and short forms the resolver reads as another address', () => {
      const message = 'must write IPv4 as a dotted quad such as 10.0.0.5 (numeric, hex, octal and short forms resolve to other addresses: 2130706433 is 127.0.0.1) and a hostname without a trailing dot';
      for (const bad of ['2130706433', '0x7f000001', '0x7F.1', '0177.0.0.1', '127.1', '10.0.1', '010.0.0.5', '10.0.0.256', '10.0.0.5.', 'db.internal.', 'db.0x10', '1.2.3.4.5']) {
        for (const field of ['address', 'publicAddress'] as const) {
          const raw = minimal();
          raw.jumpHosts[0]![field] = bad;
          assert.deepEqual(issues(raw), [`jumpHosts[0].${field}: ${message}`], `${field} ${bad}`);
        }
        const raw = minimal();
        raw.hosts[0]!.address = bad;
        assert.deepEqual(issues(raw), [`hosts[0].address: ${message}`], bad);
      }
      for (const good of ['127.0.0.1', '10.0.0.5', '255.255.255.255', '0.0.0.0', '1e100.net', 'db-1.internal', '10-0-0-5.internal', 'a1']) {
        const raw = minimal();
        raw.hosts[0]!.address = good;
        raw.jumpHosts[0]!.address = good;
        assert.equal(validatePolicy(raw).hosts[0]!.address, good);
      }
    });

    it('authorizedKeysPath: normalised, no "..", no "~", no control characters or trailing newline', () => {
      const cases: [string, string][] = [
        ['../../root/.ssh/authorized_keys', 'must not contain ".." (it could leave the jump account\'s files)'],
        ['/home/jump/../root/.ssh/authorized_keys', 'must not contain ".." (it could leave the jump account\'s files)'],
        ['~/.ssh/authorized_keys', 'must not start with "~": SFTP does not expand it; write it relative to the jump account\'s home (.ssh/authorized_keys) or absolute'],
        ['~jump/.ssh/authorized_keys', 'must not start with "~": SFTP does not expand it; write it relative to the jump account\'s home (.ssh/authorized_keys) or absolute'],
        ['.ssh/authorized_keys\n', 'must not contain control characters or line breaks'],
        ['.ssh/author\tized_keys', 'must not contain control characters or line breaks'],
        [' .ssh/authorized_keys', 'must not start or end with spaces'],
        ['.ssh//authorized_keys', 'must be a normalised path (".ssh/authorized_keys")'],
        ['./.ssh/authorized_keys', 'must be a normalised path (".ssh/authorized_keys")'],
        ['/home/jump/.ssh/', 'must be a normalised path ("/home/jump/.ssh")'],
        ['', 'must not be empty'],
      ];
      for (const [path, message] of cases) {
        const raw = minimal();
        raw.jumpHosts[0]!.authorizedKeysPath = path;
        assert.deepEqual(issues(raw), [`jumpHosts[0].authorizedKeysPath: ${message}`], JSON.stringify(path));
      }
      for (const path of ['.ssh/authorized_keys', '/home/jump/.ssh/authorized_keys', '/etc/ssh/authorized_keys.d/jump', 'keys..old']) {
        const raw = minimal();
        raw.jumpHosts[0]!.authorizedKeysPath = path;
        assert.equal(validatePolicy(raw).jumpHosts[0]!.authorizedKeysPath, path);
      }
    });

    it('sshdLog: the journal or an absolute file; endSessions follows it unless set, and needs it', () => {
      const withLog = (extra: Record<string, unknown>) => {
        const raw = minimal();
        Object.assign(raw.jumpHosts[0]!, extra);
        return raw;
      };
      const journal = validatePolicy(withLog({ sshdLog: { journal: true } })).jumpHosts[0]!;
      assert.deepEqual([journal.sshdLog, journal.endSessions], [{ journal: true }, true]);
      const file = validatePolicy(withLog({ sshdLog: { file: '/var/log/auth.log' }, endSessions: false })).jumpHosts[0]!;
      assert.deepEqual([file.sshdLog, file.endSessions], [{ file: '/var/log/auth.log' }, false]);
      assert.equal(validatePolicy(minimal()).jumpHosts[0]!.endSessions, false, 'no log, no sessions to end');
      assert.deepEqual(issues(withLog({ endSessions: true })), ["jumpHosts[0].endSessions: needs sshdLog: the broker finds live connections in sshd's log"]);
      assert.deepEqual(issues(withLog({ sshdLog: { file: 'auth.log' } })), ['jumpHosts[0].sshdLog.file: must be an absolute path such as /var/log/auth.log']);
      assert.deepEqual(issues(withLog({ sshdLog: { file: '/var/log/../../etc/shadow' } })), ['jumpHosts[0].sshdLog.file: must not contain ".." (it could leave the jump account\'s files)']);
      assert.ok(issues(withLog({ sshdLog: { journal: false } })).every((m) => m.startsWith('jumpHosts[0].sshdLog')), 'journal: false is not a source');
    });

    it('reminders: remindAfter by default 15m; escalateAfter and escalateTo go together', () => {
      const raw = minimal();
      assert.equal(validatePolicy(raw).defaults.remindAfter, 15 * M);
      assert.deepEqual(issues({ ...raw, defaults: { escalateAfter: '1h' } }), ['defaults.escalateTo: escalateAfter and escalateTo go together']);
      assert.deepEqual(issues({ ...raw, defaults: { escalateTo: ['S0SRE'] } }), ['defaults.escalateAfter: escalateAfter and escalateTo go together']);
      const p = validatePolicy({ ...raw, defaults: { remindAfter: 'off', escalateAfter: '1h', escalateTo: ['S0SRE'] } });
      assert.deepEqual([p.defaults.remindAfter, p.defaults.escalateAfter, p.defaults.escalateTo], [0, H, ['S0SRE']]);
    });

    it('extensions: selfExtend 0 by default (a number or a duration); maxTotalDuration never under a host’s maxDuration', () => {
      const raw = minimal();
      assert.equal(validatePolicy(raw).defaults.selfExtend, 0);
      assert.equal(validatePolicy(raw).defaults.maxTotalDuration, undefined, 'unset: 3 × each host’s maxDuration');
      const p = validatePolicy({ ...raw, defaults: { selfExtend: '30m', maxTotalDuration: '24h' } });
      assert.deepEqual([p.defaults.selfExtend, p.defaults.maxTotalDuration], [30 * M, 24 * H]);
      assert.equal(validatePolicy({ ...raw, defaults: { selfExtend: '0' } }).defaults.selfExtend, 0);
      assert.deepEqual(issues({ ...raw, defaults: { maxTotalDuration: '2h' } }), [`defaults.maxTotalDuration: is shorter than the maxDuration of ${raw.hosts[0]!.name}`]);
      const host = { ...raw.hosts[0]!, maxDuration: '4h', maxTotalDuration: '3h' };
      assert.deepEqual(issues({ ...raw, hosts: [host] }), [`hosts[0].maxTotalDuration: is shorter than the maxDuration of ${raw.hosts[0]!.name}`]);
      assert.deepEqual(issues({ ...raw, defaults: { selfExtend: -1 } }).length, 1, 'a negative number is no duration');
    });

    it('ports, user names, owners and approvals', () => {
      const cases: [(r: Raw) => void, string][] = [
        [(r) => (r.hosts[0]!.port = 0), 'hosts[0].port'],
        [(r) => (r.hosts[0]!.port = 65_536), 'hosts[0].port'],
        [(r) => (r.hosts[0]!.port = '22'), 'hosts[0].port'],
        [(r) => (r.jumpHosts[0]!.publicPort = 2.5), 'jumpHosts[0].publicPort'],
        [(r) => (r.hosts[0]!.loginUser = 'root;rm'), 'hosts[0].loginUser'],
        [(r) => (r.jumpHosts[0]!.user = '-oProxyCommand'), 'jumpHosts[0].user'],
        [(r) => (r.hosts[0]!.owners = []), 'hosts[0].owners'],
        [(r) => (r.hosts[0]!.owners = ['<!channel>']), 'hosts[0].owners[0]'],
        [(r) => (r.hosts[0]!.approvals = 0), 'hosts[0].approvals'],
        [(r) => (r.hosts[0]!.name = 'db prod'), 'hosts[0].name'],
        [(r) => (r.auditChannel = '#audit'), 'auditChannel'],
        [(r) => (r.hosts = []), 'hosts'],
      ];
      for (const [mutate, path] of cases) {
        const raw = minimal();
        mutate(raw);
        assert.deepEqual(issues(raw).map((l) => l.slice(0, l.indexOf(': '))), [path], path);
      }
      // without jump hosts, the hosts' references are reported too
      assert.deepEqual(issues({ ...minimal(), jumpHosts: [] }).map((l) => l.slice(0, l.indexOf(': '))), ['jumpHosts', 'hosts[0].jumpHost']);
    });

    it('more approvals than named owners (user groups may hold more people)', () => {
      const raw = minimal();
      raw.hosts[0]!.owners = ['U0ALICE'];
      raw.hosts[0]!.approvals = 2;
      assert.deepEqual(issues(raw), ['hosts[0].approvals: needs 2 approvals but lists only 1 owners']);
      raw.hosts[0]!.owners = ['U0ALICE', 'S0TEAM'];
      validatePolicy(raw);
    });

    it('a maximum shorter than the minimum, and a default duration shorter than the minimum', () => {
      const raw = minimal();
      raw.hosts[0]!.maxDuration = '30s';
      assert.deepEqual(issues(raw), ['hosts[0].maxDuration: is shorter than defaults.minDuration']);
      assert.deepEqual(issues({ ...minimal(), defaults: { minDuration: '10m', maxDuration: '5m' } }), ['hosts[0].maxDuration: is shorter than defaults.minDuration']);
      // otherwise every request that names no duration would be refused as too short
      assert.deepEqual(issues({ ...minimal(), defaults: { duration: '30s' } }), ['defaults.duration: is shorter than defaults.minDuration']);
      validatePolicy({ ...minimal(), defaults: { duration: '1m' } });
    });

    it('lists every problem at once, one per line, under the source name', () => {
      const raw = minimal();
      raw.jumpHosts[0]!.hostKey = 'x';
      raw.hosts[0]!.port = 0;
      let message = '';
      try {
        validatePolicy(raw, '/etc/jit/jit.config.yaml');
      } catch (err) {
        message = (err as Error).message;
      }
      assert.match(message, /^\/etc\/jit\/jit\.config\.yaml is invalid:\n/);
      assert.equal(message.split('\n').length, 3);
      assert.match(message, /\n {2}jumpHosts\[0\]\.hostKey: /);
      assert.match(message, /\n {2}hosts\[0\]\.port: /);
    });

    it('refuses a document that is not a mapping', () => {
      for (const raw of [null, undefined, 'text', 42, []]) assert.match(errorOf(raw), /^policy is invalid:\n {2}\(top level\): /);
    });
  });

  describe('loadPolicy', () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'jit-policy-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('loads and validates a YAML file', () => {
      const file = join(dir, 'ok.yaml');
      writeFileSync(file, DESIGN_YAML);
      assert.equal(loadPolicy(file).hosts[0]!.maxDuration, 2 * H);
    });

    it('explains a missing file and points at JIT_CONFIG', () => {
      const missing = join(dir, 'missing.yaml');
      assert.throws(
        () => loadPolicy(missing),
        (err: Error) => err instanceof PolicyError && err.message.startsWith(`cannot read policy file ${missing}: `) && /ENOENT/.test(err.message) && /JIT_CONFIG/.test(err.message),
      );
      assert.throws(() => loadPolicy(dir), /cannot read policy file .*EISDIR/);
    });

    it('explains invalid YAML, naming the file', () => {
      const file = join(dir, 'bad.yaml');
      for (const text of ['hosts: [unclosed', 'a: 1\na: 2\n', 'key: "open', '\tbad: indent\n  - x']) {
        writeFileSync(file, text);
        assert.throws(() => loadPolicy(file), (err: Error) => err instanceof PolicyError && err.message.startsWith(`${file} is not valid YAML: `), text);
      }
    });

    it('names the file and the field when the YAML is valid but the policy is not', () => {
      const file = join(dir, 'invalid.yaml');
      writeFileSync(file, DESIGN_YAML.replace('jumpHost: bastion', 'jumpHost: bastoin'));
      assert.throws(() => loadPolicy(file), (err: Error) => err.message === `${file} is invalid:\n  hosts[0].jumpHost: no jump host named "bastoin" in jumpHosts`);
      writeFileSync(file, '');
      assert.throws(() => loadPolicy(file), (err: Error) => err.message.startsWith(`${file} is invalid:\n  (top level): `));
    });
  });
});

describe('environment', () => {
  const required = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sign-1' };

  function envError(source: NodeJS.ProcessEnv): string {
    try {
      readEnv(source);
    } catch (err) {
      assert.ok(err instanceof EnvError, String(err));
      return err.message;
    }
    assert.fail('expected the environment to be refused');
  }

  describe('readEnv', () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'jit-env-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('has the documented defaults', () => {
      const env = readEnv({ ...required });
      assert.equal(env.SLACK_BOT_TOKEN, 'xoxb-1');
      assert.equal(env.SLACK_SIGNING_SECRET, 'sign-1');
      assert.equal(env.REDIS_URL, 'redis://127.0.0.1:6379');
      assert.equal(env.PORT, 3000);
      assert.equal(env.JIT_CONFIG, './jit.config.yaml');
      assert.equal(env.LOG_LEVEL, 'info');
      assert.equal(env.SLACK_APP_TOKEN, undefined);
      assert.equal(env.SLACK_API_URL, undefined);
    });

    it('reads every documented variable', () => {
      const env = readEnv({
        ...required,
        SLACK_APP_TOKEN: 'xapp-1',
        SLACK_API_URL: 'http://127.0.0.1:9999/api/',
        REDIS_URL: 'rediss://:pw@redis.internal:6380/2',
        PORT: '8080',
        JIT_CONFIG: '/etc/jit/policy.yaml',
        LOG_LEVEL: 'debug',
      });
      assert.equal(env.SLACK_APP_TOKEN, 'xapp-1');
      assert.equal(env.SLACK_API_URL, 'http://127.0.0.1:9999/api/');
      assert.equal(env.REDIS_URL, 'rediss://:pw@redis.internal:6380/2');
      assert.equal(env.PORT, 8080);
      assert.equal(env.JIT_CONFIG, '/etc/jit/policy.yaml');
      assert.equal(env.LOG_LEVEL, 'debug');
    });

    it('treats empty variables as unset (defaults apply, required ones are missing)', () => {
      const env = readEnv({ ...required, PORT: '', REDIS_URL: '', SLACK_APP_TOKEN: '' });
      assert.equal(env.PORT, 3000);
      assert.equal(env.REDIS_URL, 'redis://127.0.0.1:6379');
      assert.equal(env.SLACK_APP_TOKEN, undefined);
      assert.match(envError({ SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET: '' }), /SLACK_SIGNING_SECRET: is required/);
    });

    it('reads each secret from the file named by <NAME>_FILE, trimmed', () => {
      writeFileSync(join(dir, 'bot'), 'xoxb-from-file\n');
      writeFileSync(join(dir, 'signing'), '  s3cret \n');
      writeFileSync(join(dir, 'app'), 'xapp-from-file');
      const env = readEnv({
        SLACK_BOT_TOKEN_FILE: join(dir, 'bot'),
        SLACK_SIGNING_SECRET_FILE: join(dir, 'signing'),
        SLACK_APP_TOKEN_FILE: join(dir, 'app'),
      });
      assert.equal(env.SLACK_BOT_TOKEN, 'xoxb-from-file');
      assert.equal(env.SLACK_SIGNING_SECRET, 's3cret');
      assert.equal(env.SLACK_APP_TOKEN, 'xapp-from-file');
    });

    it('reads REDIS_URL (it may hold a password) from REDIS_URL_FILE, for the broker and for reconcile --dry-run', () => {
      writeFileSync(join(dir, 'redis'), 'redis://:s3cret@redis.internal:6380/1\n');
      assert.equal(readEnv({ ...required, REDIS_URL_FILE: join(dir, 'redis') }).REDIS_URL, 'redis://:s3cret@redis.internal:6380/1');
      assert.equal(readRedisEnv({ REDIS_URL_FILE: join(dir, 'redis') }).REDIS_URL, 'redis://:s3cret@redis.internal:6380/1');
      assert.equal(readRedisEnv({}).REDIS_URL, 'redis://127.0.0.1:6379');
      assert.match(envError({ ...required, REDIS_URL_FILE: join(dir, 'nope') }), /^REDIS_URL_FILE: cannot read .*nope: ENOENT$/);
    });

    it('prefers the variable itself over its _FILE', () => {
      const env = readEnv({ ...required, SLACK_BOT_TOKEN_FILE: join(dir, 'does-not-exist') });
      assert.equal(env.SLACK_BOT_TOKEN, 'xoxb-1');
    });

    it('names an unreadable _FILE and why, without its content', () => {
      assert.match(envError({ SLACK_BOT_TOKEN_FILE: join(dir, 'nope'), SLACK_SIGNING_SECRET: 's' }), /^SLACK_BOT_TOKEN_FILE: cannot read .*nope: ENOENT$/);
      assert.match(envError({ ...required, SLACK_APP_TOKEN_FILE: dir }), /^SLACK_APP_TOKEN_FILE: cannot read .*: EISDIR$/);
    });

    it('an empty secret file counts as missing', () => {
      writeFileSync(join(dir, 'empty'), '\n');
      assert.match(envError({ SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET_FILE: join(dir, 'empty') }), /SLACK_SIGNING_SECRET: is required/);
    });

    it('names each missing secret', () => {
      assert.equal(envError({ SLACK_BOT_TOKEN: 'x' }), 'environment is invalid:\n  SLACK_SIGNING_SECRET: is required (Basic Information → Signing Secret)');
      assert.equal(envError({ SLACK_SIGNING_SECRET: 's' }), 'environment is invalid:\n  SLACK_BOT_TOKEN: is required (the bot token, xoxb-…)');
      const both = envError({});
      assert.match(both, /\n {2}SLACK_BOT_TOKEN: is required/);
      assert.match(both, /\n {2}SLACK_SIGNING_SECRET: is required/);
    });

    it('refuses malformed values, naming the variable', () => {
      const cases: [NodeJS.ProcessEnv, RegExp][] = [
        [{ REDIS_URL: 'localhost:6379' }, /^ {2}REDIS_URL: must be a redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\/ URL$/m],
        [{ PORT: 'eighty' }, /^ {2}PORT: /m],
        [{ PORT: '70000' }, /^ {2}PORT: /m],
        [{ PORT: '80.5' }, /^ {2}PORT: /m],
        [{ LOG_LEVEL: 'verbose' }, /^ {2}LOG_LEVEL: /m],
        [{ SLACK_API_URL: 'not a url' }, /^ {2}SLACK_API_URL: /m],
        [{ SLACK_APP_TOKEN: 'xoxb-wrong-kind' }, /^ {2}SLACK_APP_TOKEN: must be an app-level token \(xapp-…\)$/m],
      ];
      for (const [extra, expected] of cases) assert.match(envError({ ...required, ...extra }), expected, JSON.stringify(extra));
    });

    it('never puts a secret value into the error', () => {
      const message = envError({ SLACK_BOT_TOKEN: 'xoxb-TOPSECRET-1', SLACK_SIGNING_SECRET: 'TOPSECRET-2', SLACK_APP_TOKEN: 'xoxp-TOPSECRET-3', PORT: 'x' });
      assert.ok(!message.includes('TOPSECRET'), message);
    });
  });
});

// The README's configuration table is the operator's reference: every schema field is in it, every row names a
// schema field, and a default it states is the one the schema fills in.
describe('README configuration table', () => {
  const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### 2. Write the policy'), readme.indexOf('### 3. Prepare the jump server'));
  // "| `jumpHosts[].address`, `port` | … | required, `22` |" → [['jumpHosts[].address', 'jumpHosts[].port'], 'required, `22`']
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cells = l.split(' | ');
      const names = [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      const parent = names[0]!.includes('.') ? names[0]!.slice(0, names[0]!.lastIndexOf('.') + 1) : '';
      return { fields: names.map((n, i) => (i === 0 || n.includes('.') ? n : parent + n)), defaults: cells[2]!.replace(/ \|$/, '') };
    });

  function schemaFields(): string[] {
    const out: string[] = [];
    const walk = (shape: Record<string, z.ZodType>, prefix: string) => {
      for (const [k, v] of Object.entries(shape)) {
        let t: any = v;
        while (t.def?.innerType || t.def?.in) t = t.def.innerType ?? t.def.in;
        let element: any = t.def?.element;
        while (element?.def?.in) element = element.def.in; // an object with a transform (jumpHosts[]: endSessions' default)
        if (t.def?.type === 'array' && element?.def?.shape) walk(element.def.shape, `${prefix}${k}[].`);
        else if (t.def?.type === 'object') walk(t.def.shape, `${prefix}${k}.`);
        else out.push(prefix + k);
      }
    };
    walk((policySchema as any).def.in?.def?.shape ?? (policySchema as any).def.shape, '');
    return out.sort();
  }

  it('lists exactly the schema’s fields', () => {
    assert.deepEqual(rows.flatMap((r) => r.fields).sort(), schemaFields());
  });

  it('states the defaults the schema fills in', () => {
    const raw = {
      auditChannel: 'C0AUDIT',
      jumpHosts: [{ name: 'bastion', address: 'jump.example.com', user: 'jump', hostKey: FP, privateKeyPath: '/k' }],
      hosts: [{ name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE'] }],
    };
    const filled = validatePolicy(raw) as any;
    const valueAt = (field: string) => field.split('.').reduce((o, k) => (k.endsWith('[]') ? o[k.slice(0, -2)][0] : o[k]), filled);
    let checked = 0;
    for (const { fields, defaults } of rows) {
      const stated = [...defaults.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      // "required, `22`": the first field is required, the literal is the second one's default
      const withDefault = defaults.startsWith('required, ') ? fields.slice(1) : fields;
      if (stated.length !== withDefault.length) continue; // "required", "defaults", "the bot token's workspace": no literal
      withDefault.forEach((field, i) => {
        const text = stated[i]!;
        if (valueAt(field) === undefined) return; // the default names another field (publicAddress → address)
        const expected = parseDuration(text) ?? (text === 'true' ? true : text === 'false' ? false : /^\d+$/.test(text) ? Number(text) : text);
        assert.deepEqual(valueAt(field), expected, `${field}: README says ${text}`);
        checked++;
      });
    }
    assert.ok(checked >= 20, `only ${checked} defaults checked`);
  });
});

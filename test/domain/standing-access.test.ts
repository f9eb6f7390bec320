// Standing access (`jit-jump audit standing`): the key lines of a jump account's authorized_keys outside the
// managed block, read as sshd reads them (options before the key, comments, CRLF), the broker's own excepted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blockBeginLine, BLOCK_END, renderKeyLines } from '../../src/domain/managed-block.ts';
import { standingKeys } from '../../src/domain/standing-access.ts';
import { formatStandingReport, standingAccessReport, standingExitCode } from '../../src/audit/standing-report.ts';
import { generateKeys, mustGet, type GeneratedKey } from './fixtures.ts';

describe('standing access', () => {
  let keys: Map<string, GeneratedKey>;
  let cleanup = () => {};
  const key = (name: string) => mustGet(keys, name);
  before(async () => {
    ({ keys, cleanup } = await generateKeys([
      { name: 'broker', args: ['-t', 'ed25519'] },
      { name: 'ops', args: ['-t', 'ed25519'] },
      { name: 'ci', args: ['-t', 'ecdsa', '-b', '256'] },
      { name: 'granted', args: ['-t', 'ed25519'] },
    ]));
  });
  after(() => cleanup());
  const broker = () => new Set([key('broker').fingerprint]);
  const grantLine = () =>
    renderKeyLines([{ id: 'g-1', publicKey: key('granted').line, address: '10.0.0.5', port: 22, expiresAt: Date.now() + 3_600_000 }], Date.now(), 'utc')[0]!;

  it('lists the lines outside the block with fingerprint, type, comment, options and 1-based line; not the broker, not the block', () => {
    const file = [
      '# operators: do not add keys here',
      `restrict ${key('broker').line} jit-jump broker`,
      '',
      `from="10.0.0.0/8",command="echo \\"a b\\"" ${key('ops').line} ops@laptop`,
      blockBeginLine(7),
      grantLine(),
      `${key('ci').line} hand-written inside the block`,
      BLOCK_END,
      `${key('ci').line}`,
      'not a key at all',
      '',
    ].join('\n');
    assert.deepEqual(standingKeys(file, broker()), [
      { fingerprint: key('ops').fingerprint, type: 'ssh-ed25519', comment: 'ops@laptop', options: 'from="10.0.0.0/8",command="echo \\"a b\\""', line: 4 },
      { fingerprint: key('ci').fingerprint, type: 'ecdsa-sha2-nistp256', comment: '', options: '', line: 9 },
    ]);
  });

  it('reads a CRLF file as sshd does: markers, options and comments without the carriage return', () => {
    const file = [`restrict ${key('broker').line}`, `no-pty ${key('ops').line} ops@laptop`, blockBeginLine(), grantLine(), BLOCK_END, ''].join('\r\n');
    assert.deepEqual(standingKeys(file, broker()), [{ fingerprint: key('ops').fingerprint, type: 'ssh-ed25519', comment: 'ops@laptop', options: 'no-pty', line: 2 }]);
  });

  it('with broken markers counts every key line but the broker-rendered ones (sshd ignores markers)', () => {
    const file = [blockBeginLine(3), grantLine(), `${key('ops').line} slipped in`, `${key('broker').line}`, ''].join('\n');
    assert.deepEqual(
      standingKeys(file, broker()).map((k) => [k.fingerprint, k.line]),
      [[key('ops').fingerprint, 3]],
    );
  });

  it('an empty or missing file, comments only, the broker alone: none', () => {
    assert.deepEqual(standingKeys('', broker()), []);
    assert.deepEqual(standingKeys(`# nothing\n\n  \n${key('broker').line}\n`, broker()), []);
  });

  it('the report: one unreadable server is an entry with its error, the others are read; exit 1 for either', async () => {
    const files: Record<string, string | undefined> = { a: `${key('broker').line}\n`, b: `${key('ops').line} ops@laptop\n`, c: undefined };
    const entries = await standingAccessReport({
      jumpHosts: ['a', 'b', 'c', 'down'],
      brokerFingerprints: broker(),
      readAuthorizedKeys: async (name) => {
        if (name === 'down') throw new Error('connect ECONNREFUSED');
        return files[name];
      },
    });
    assert.deepEqual(
      entries.map((e) => [e.jumpHost, e.keys.length, e.error]),
      [['a', 0, undefined], ['b', 1, undefined], ['c', 0, undefined], ['down', 0, 'connect ECONNREFUSED']],
    );
    assert.equal(standingExitCode(entries), 1);
    assert.equal(standingExitCode(entries.filter((e) => e.jumpHost !== 'b')), 1, 'an unread server proves nothing');
    assert.equal(standingExitCode(entries.filter((e) => e.jumpHost === 'a' || e.jumpHost === 'c')), 0);
    assert.equal(
      formatStandingReport(entries),
      [
        "a: no standing keys besides the broker's",
        `b: standing key ${key('ops').fingerprint} ssh-ed25519 line 1 comment "ops@laptop" options (none)`,
        "c: no standing keys besides the broker's",
        'down: could not be read, standing access unknown: connect ECONNREFUSED',
        '1 standing key(s) on 4 jump server(s); 1 could not be read',
      ].join('\n'),
    );
  });
});

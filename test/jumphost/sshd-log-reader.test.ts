// The log reader's positions against a fake jump server: journald cursors (validated before they reach the
// command), a syslog file read from a byte offset in complete lines, and rotation (the size shrinks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JumpHostConfig } from '../../src/config/policy.ts';
import { FIRST_READ_LOOKBACK_MS, journalctlArgs, readSshdLog, type LogAccess } from '../../src/jumphost/sshd-log-reader.ts';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const JH = { name: 'bastion' } as JumpHostConfig;
const line = (sec: number, pid: number, msg: string) => `2026-12-02T11:59:${String(sec).padStart(2, '0')}.000000+00:00 bastion sshd[${pid}]: ${msg}\n`;

function files(content: Record<string, string>): LogAccess & { reads: [string, number][] } {
  const reads: [string, number][] = [];
  return {
    reads,
    exec: async () => assert.fail('no exec for a file source'),
    async readRange(_jh, path, offset, max) {
      reads.push([path, offset]);
      const text = content[path];
      if (text === undefined) return undefined;
      const data = Buffer.from(text);
      return { size: data.length, data: data.subarray(offset, offset + max) };
    },
  };
}

describe('sshd log reader', () => {
  it('journal: a first read looks back an hour; later reads go on after the saved cursor; a malformed cursor never reaches the command', () => {
    assert.equal(journalctlArgs(undefined, NOW).at(-1), `--since=@${(NOW - FIRST_READ_LOOKBACK_MS) / 1000}`);
    assert.equal(journalctlArgs('s=ab12;i=3f;b=cd;m=1;t=2;x=ff', NOW).at(-1), '--after-cursor=s=ab12;i=3f;b=cd;m=1;t=2;x=ff');
    assert.equal(journalctlArgs("s=1'; rm -rf / #", NOW).at(-1)!.startsWith('--since=@'), true);
    assert.deepEqual(journalctlArgs(undefined, NOW).slice(0, 8), ['journalctl', '-q', '--no-pager', '-o', 'json', '--output-fields=MESSAGE,_PID,__REALTIME_TIMESTAMP,_COMM', 'SYSLOG_IDENTIFIER=sshd', 'SYSLOG_IDENTIFIER=sshd-session']);
  });

  it('journal: entries in order, the last record’s cursor saved, a failing journalctl is an error', async () => {
    const rec = (cursor: string, pid: number, msg: string) => JSON.stringify({ __CURSOR: cursor, __REALTIME_TIMESTAMP: String(NOW * 1000), _PID: String(pid), MESSAGE: msg });
    let argv: readonly string[] = [];
    const access: LogAccess = {
      async exec(_jh, a) {
        argv = a;
        return { code: 0, stdout: Buffer.from(`${rec('s=1;i=1', 10, 'User child is on pid 11')}\n${rec('s=1;i=2', 10, 'Accepted publickey for jump from 127.0.0.1 port 5 ssh2: ED25519 SHA256:x')}\n`), stderr: '', truncated: false };
      },
      readRange: async () => assert.fail('no SFTP for the journal'),
    };
    const r = await readSshdLog(access, JH, { journal: true }, 'journal:s=1;i=0', NOW);
    assert.equal(argv.at(-1), '--after-cursor=s=1;i=0');
    assert.deepEqual(r.entries.map((e) => [e.pid, e.message]), [[10, 'User child is on pid 11'], [10, 'Accepted publickey for jump from 127.0.0.1 port 5 ssh2: ED25519 SHA256:x']]);
    assert.equal(r.position, 'journal:s=1;i=2');
    const failing: LogAccess = { ...access, exec: async () => ({ code: 1, stdout: Buffer.alloc(0), stderr: 'Failed to open journal', truncated: false }) };
    await assert.rejects(readSshdLog(failing, JH, { journal: true }, undefined, NOW), /journalctl exited with 1: Failed to open journal/);
  });

  it('file: reads complete lines from the saved offset, keeps a partial last line for the next read', async () => {
    const full = line(1, 10, 'User child is on pid 11') + line(2, 12, 'User child is on pid 13');
    const partial = full + '2026-12-02T11:59:03.000000+00:00 bastion sshd[14]: User ch';
    const access = files({ '/var/log/auth.log': partial });
    const first = await readSshdLog(access, JH, { file: '/var/log/auth.log' }, 'file:0', NOW);
    assert.deepEqual(first.entries.map((e) => e.pid), [10, 12]);
    assert.equal(first.position, `file:${Buffer.byteLength(full)}`);
    const again = await readSshdLog(access, JH, { file: '/var/log/auth.log' }, first.position, NOW);
    assert.deepEqual(again.entries, [], 'the partial line waits for its end');
    assert.equal(again.position, first.position);
  });

  it('file: a first read takes only the last hour; a shrunken file was rotated: the rest of <path>.1, then the new file from 0', async () => {
    const old = line(1, 10, 'User child is on pid 11');
    const oldLine = `2026-12-02T10:00:00.000000+00:00 bastion sshd[9]: User child is on pid 8\n`;
    const first = await readSshdLog(files({ '/l': oldLine + old }), JH, { file: '/l' }, undefined, NOW);
    assert.deepEqual(first.entries.map((e) => e.pid), [10], 'two hours old: before the look-back');
    const rotatedRest = line(2, 20, 'User child is on pid 21');
    const fresh = line(3, 30, 'User child is on pid 31');
    const saved = Buffer.byteLength(oldLine + old);
    const access = files({ '/l.1': oldLine + old + rotatedRest, '/l': fresh });
    const next = await readSshdLog(access, JH, { file: '/l' }, `file:${saved}`, NOW);
    assert.deepEqual(next.entries.map((e) => e.pid), [20, 30]);
    assert.equal(next.position, `file:${Buffer.byteLength(fresh)}`);
  });

  it('file: a missing file is an error naming it', async () => {
    await assert.rejects(readSshdLog(files({}), JH, { file: '/var/log/nope' }, undefined, NOW), /\/var\/log\/nope does not exist/);
  });
});

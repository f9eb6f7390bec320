// The parser and the fold on real sshd lines (test/fixtures/sshd-log, recorded on OpenSSH 9.2 by
// test/jumphost/sshd-log-fixture.test.ts): each file read as the broker reads it gives the connections it shows.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { foldEvents } from '../../src/domain/connection-tracking.ts';
import { parseJournalRecord, parseSshdMessage, parseSyslogLine } from '../../src/domain/sshd-log-parse.ts';
import type { ConnectionRecord, LogEntry } from '../../src/domain/sshd-log.ts';

const DIR = join(import.meta.dirname, '../fixtures/sshd-log');
const KEY = 'SHA256:zgsJ7SRrpD45/TqPsSi8Ba2MHEvzU0QOnSfutFuMOGc';
const TARGET = '127.0.0.1:41797';
// the traditional syslog format has no year: read as on the day of the recording
const NOW = Date.UTC(2026, 11, 2, 14);

type Seen = Pick<ConnectionRecord, 'monitorPid' | 'childPid' | 'port' | 'startedAt' | 'targets' | 'endedAt'>;
const expected: Record<string, Seen[]> = {
  'journal.jsonl': [{ monitorPid: 1541, childPid: 1543, port: 55768, startedAt: 1796216572098, targets: [TARGET], endedAt: undefined }],
  'journal-ended-denied.jsonl': [
    { monitorPid: 1702, childPid: 1704, port: 55772, startedAt: 1796216575124, targets: [TARGET], endedAt: 1796216577727 },
    { monitorPid: 1836, childPid: 1838, port: 48558, startedAt: 1796216578073, targets: [], endedAt: 1796216578151 },
  ],
  // *.log is in .gitignore: these run where the recording left them
  'auth.log': [{ monitorPid: 1905, childPid: 1907, port: 54364, startedAt: 1796216579000, targets: [TARGET], endedAt: undefined }],
  'auth-rfc3339.log': [{ monitorPid: 1905, childPid: 1907, port: 54364, startedAt: 1796216579799, targets: [TARGET], endedAt: undefined }],
  'auth-ended-denied.log': [
    { monitorPid: 2020, childPid: 2022, port: 54378, startedAt: 1796216581000, targets: [TARGET], endedAt: 1796216583000 },
    { monitorPid: 2147, childPid: 2149, port: 54382, startedAt: 1796216583000, targets: [], endedAt: 1796216583000 },
  ],
};

function entriesOf(file: string): LogEntry[] {
  const lines = readFileSync(join(DIR, file), 'utf8').split('\n').filter((l) => l !== '');
  return lines.map((line) => {
    const entry = file.endsWith('.jsonl') ? parseJournalRecord(line) : parseSyslogLine(line, NOW);
    assert.ok(entry, `${file}: every line parses: ${line}`);
    return entry;
  });
}

describe('real sshd log records (OpenSSH 9.2)', () => {
  for (const [file, seen] of Object.entries(expected)) {
    const present = existsSync(join(DIR, file));
    it(`${file}: the connections it shows`, { skip: present ? false : 'not in this checkout' }, () => {
      const events = entriesOf(file).flatMap((e) => parseSshdMessage(e) ?? []);
      const records = foldEvents('jump-a', [], events);
      for (const r of records) assert.ok(r.fingerprint === KEY && r.ip === '127.0.0.1' && r.jumpHost === 'jump-a' && r.id === `${r.monitorPid}-${r.startedAt}`);
      assert.deepEqual(
        records.map((r): Seen => ({ monitorPid: r.monitorPid, childPid: r.childPid, port: r.port, startedAt: r.startedAt, targets: r.targets, endedAt: r.endedAt })),
        seen,
      );
      for (let cut = 0; cut <= events.length; cut++) {
        const first = foldEvents('jump-a', [], events.slice(0, cut));
        const live = first.filter((r) => r.endedAt === undefined);
        const byId = new Map([...first, ...foldEvents('jump-a', live, events.slice(cut))].map((r) => [r.id, r]));
        assert.deepEqual([...byId.values()].sort((a, b) => a.startedAt - b.startedAt), records, `read in two at line ${cut}`);
      }
    });
  }

  it('the journal records carry the cursor journalctl continues from', () => {
    const line = readFileSync(join(DIR, 'journal.jsonl'), 'utf8').split('\n')[0]!;
    assert.match(parseJournalRecord(line)!.cursor, /^s=[0-9a-f]+;i=[0-9a-f]+;b=[0-9a-f]+;m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+$/);
  });
});

// Reads what sshd logged on a jump server since the last read, as the jump account: journald through a fixed
// journalctl command (SSH exec), or a syslog file over SFTP from a saved byte offset. The position is opaque to
// callers and saved with what was read from it, so a restart or another replica continues where this read stopped.
import type { SshdLogSource } from '../domain/policy.ts';
import type { LogEntry } from '../domain/sshd-log.ts';
import { parseJournalRecord, parseSyslogLine } from '../domain/sshd-log-parse.ts';
import type { JumpHostConfig } from '../config/policy.ts';
import type { ExecResult } from './jump-host-connections.ts';
import { JumpHostUnavailableError } from './errors.ts';

export interface LogAccess {
  exec(jh: JumpHostConfig, argv: readonly string[], o?: { maxBytes?: number; timeoutMs?: number }): Promise<ExecResult>;
  readRange(jh: JumpHostConfig, path: string, offset: number, maxBytes: number): Promise<{ size: number; data: Buffer } | undefined>;
}

export interface LogRead {
  entries: LogEntry[];
  /** where the next read starts (save it with what these entries changed) */
  position: string;
  /** the read stopped at its size cap: read again at once */
  more: boolean;
}

/** A first read (no saved position) looks this far back, so connections already open are seen. */
export const FIRST_READ_LOOKBACK_MS = 60 * 60_000;
const MAX_READ_BYTES = 4 * 1024 * 1024;
// journald cursors are "s=…;i=…;b=…;m=…;t=…;x=…": hex and these separators only.
const CURSOR = /^[A-Za-z0-9=;_-]{1,512}$/;

export function readSshdLog(access: LogAccess, jh: JumpHostConfig, source: SshdLogSource, position: string | undefined, now: number): Promise<LogRead> {
  return 'journal' in source ? readJournal(access, jh, position, now) : readFile(access, jh, source.file, position, now);
}

/** The journalctl words for a read after `cursor` (or since the look-back): fixed, but for a validated cursor. */
export function journalctlArgs(cursor: string | undefined, now: number): string[] {
  const from = cursor !== undefined && CURSOR.test(cursor) ? `--after-cursor=${cursor}` : `--since=@${Math.floor((now - FIRST_READ_LOOKBACK_MS) / 1000)}`;
  return ['journalctl', '-q', '--no-pager', '-o', 'json', '--output-fields=MESSAGE,_PID,__REALTIME_TIMESTAMP,_COMM', 'SYSLOG_IDENTIFIER=sshd', 'SYSLOG_IDENTIFIER=sshd-session', from];
}

async function readJournal(access: LogAccess, jh: JumpHostConfig, position: string | undefined, now: number): Promise<LogRead> {
  const cursor = position?.startsWith('journal:') ? position.slice('journal:'.length) : undefined;
  const result = await access.exec(jh, journalctlArgs(cursor, now), { maxBytes: MAX_READ_BYTES });
  if (result.code !== 0 && !result.truncated) {
    throw new JumpHostUnavailableError(jh.name, `journalctl exited with ${result.code ?? 'a signal'}: ${result.stderr.trim().slice(0, 300)}`);
  }
  const text = result.stdout.toString('utf8');
  // Complete lines only: a truncated read ends mid-record.
  const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
  const entries: LogEntry[] = [];
  let last = cursor;
  for (const line of lines) {
    const record = parseJournalRecord(line);
    if (!record) continue;
    const { cursor: c, ...entry } = record;
    entries.push(entry);
    last = c;
  }
  return { entries, position: last !== undefined ? `journal:${last}` : (position ?? ''), more: result.truncated };
}

async function readFile(access: LogAccess, jh: JumpHostConfig, path: string, position: string | undefined, now: number): Promise<LogRead> {
  const saved = position?.startsWith('file:') ? Number(position.slice('file:'.length)) : undefined;
  const current = await access.readRange(jh, path, saved ?? 0, MAX_READ_BYTES);
  if (!current) throw new JumpHostUnavailableError(jh.name, `${path} does not exist`);
  if (saved === undefined) {
    // First read: from the look-back, not the whole file's history.
    const start = Math.max(0, current.size - MAX_READ_BYTES);
    const tail = start === 0 ? current : await access.readRange(jh, path, start, MAX_READ_BYTES);
    const lines = completeLines(tail?.data ?? Buffer.alloc(0), start > 0);
    return { entries: parseLines(lines.text, now).filter((e) => e.at >= now - FIRST_READ_LOOKBACK_MS), position: `file:${start + lines.bytes}`, more: false };
  }
  const entries: LogEntry[] = [];
  let offset = saved;
  let data = current.data;
  if (current.size < saved) {
    // Rotated: the file is new. What was written to the old one after our offset is in `<path>.1`, if kept.
    const old = await access.readRange(jh, `${path}.1`, saved, MAX_READ_BYTES).catch(() => undefined);
    if (old && old.size >= saved) entries.push(...parseLines(completeLines(old.data, false).text, now));
    offset = 0;
    data = (await access.readRange(jh, path, 0, MAX_READ_BYTES))?.data ?? Buffer.alloc(0);
  }
  const lines = completeLines(data, false);
  entries.push(...parseLines(lines.text, now));
  const next = offset + lines.bytes;
  return { entries, position: `file:${next}`, more: lines.bytes > 0 && data.length >= MAX_READ_BYTES };
}

/** The complete lines in `data` (up to its last newline), skipping a partial first line when read mid-file. */
function completeLines(data: Buffer, skipFirst: boolean): { text: string; bytes: number } {
  const end = data.lastIndexOf(0x0a) + 1;
  const begin = skipFirst ? data.indexOf(0x0a) + 1 : 0;
  return { text: end > begin ? data.subarray(begin, end).toString('utf8') : '', bytes: end };
}

function parseLines(text: string, now: number): LogEntry[] {
  return text.split('\n').flatMap((line) => parseSyslogLine(line, now) ?? []);
}

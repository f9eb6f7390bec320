// Reads sshd's log on a jump server the way the broker will (issue #12), as the jump account over its connection:
// the journal through journalctl (resuming after a cursor), or a syslog file (resuming after the bytes already
// read, complete lines only). Entries keep the pid of the sshd process that logged them.
import type { JumpAccountConnection } from './jump-account.ts';
import type { SshdLogSource } from './sshd.ts';

export interface SshdLogEntry {
  pid: number;
  message: string;
  /** the record exactly as read: one JSON line of journalctl, or one syslog line */
  raw: string;
}

export const JOURNALCTL = 'journalctl -q -o json --output-fields=MESSAGE,_PID,__REALTIME_TIMESTAMP SYSLOG_IDENTIFIER=sshd SYSLOG_IDENTIFIER=sshd-session';

/** journalctl -o json: one object per line; `cursor` is the last record's, for --after-cursor. */
export function parseJournalJson(text: string): { entries: SshdLogEntry[]; cursor?: string } {
  const records = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((raw) => ({ raw, r: JSON.parse(raw) as { MESSAGE: string; _PID: string; __CURSOR: string } }));
  return { entries: records.map(({ raw, r }) => ({ pid: Number(r._PID), message: r.MESSAGE, raw })), cursor: records.at(-1)?.r.__CURSOR };
}

/** Syslog lines such as `Dec  2 12:00:00 host sshd[123]: message` (or an RFC 3339 time); other programs' are left out. */
export function parseSyslog(text: string): SshdLogEntry[] {
  return text
    .split('\n')
    .map((raw) => ({ raw, m: /^(?:\w{3} [ \d]\d [\d:]{8}|\d{4}-\S+) \S+ sshd(?:-session)?\[(\d+)\]: (.*)$/.exec(raw) }))
    .filter(({ m }) => m)
    .map(({ raw, m }) => ({ pid: Number(m![1]), message: m![2]!, raw }));
}

export class SshdLogReader {
  /** everything read so far, in order */
  readonly entries: SshdLogEntry[] = [];
  private cursor?: string;
  private offset = 0;

  constructor(
    private readonly conn: JumpAccountConnection,
    private readonly source: SshdLogSource,
    /** what the daemon holds, for failure messages */
    private readonly describe: () => string = () => '',
  ) {}

  /** Reads what was logged since the last read and returns it (also appended to `entries`). */
  async poll(): Promise<SshdLogEntry[]> {
    const fresh = 'journal' in this.source ? await this.readJournal() : await this.readFile(this.source.file);
    this.entries.push(...fresh);
    return fresh;
  }

  /** Polls until `find` returns something for the entries from index `from` on. */
  async waitFor<T>(what: string, find: (entries: SshdLogEntry[]) => T | undefined, from = 0, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.poll();
      const found = find(this.entries.slice(from));
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`sshd's log never showed ${what}; it holds:\n${this.describe()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async readJournal(): Promise<SshdLogEntry[]> {
    // The cursor comes from journalctl itself, never from user text: quoting it is enough.
    const r = await this.conn.exec(`${JOURNALCTL}${this.cursor ? ` '--after-cursor=${this.cursor}'` : ''}`);
    if (r.code !== 0) throw new Error(`journalctl exited ${r.code}: ${r.stderr}`);
    const read = parseJournalJson(r.stdout);
    this.cursor = read.cursor ?? this.cursor;
    return read.entries;
  }

  private async readFile(file: string): Promise<SshdLogEntry[]> {
    const r = await this.conn.exec(`cat '${file}'`);
    if (r.code !== 0) throw new Error(`cat ${file} exited ${r.code}: ${r.stderr}`);
    const complete = r.stdout.slice(this.offset, r.stdout.lastIndexOf('\n') + 1);
    this.offset += complete.length;
    return parseSyslog(complete);
  }
}

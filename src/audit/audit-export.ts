// The two export formats of `jit-jump audit export`. JSONL is the verifiable one: each line is the event's
// canonical encoding with its chain fields in front, so `audit verify` recomputes every hash from the line.
// CSV is for spreadsheets: one row an event, times in ISO 8601, cells that a spreadsheet would run as a
// formula neutralised (a reason is typed by anyone).
import type { StoredAuditEvent } from '../store/audit-log.ts';

export type ExportFormat = 'jsonl' | 'csv';

export function jsonlLine(stored: StoredAuditEvent): string {
  const { seq, prev, hash } = stored.event;
  const chain = `{"seq":${seq},"prev":${JSON.stringify(prev)},"hash":${JSON.stringify(hash)}`;
  const rest = stored.canonical.slice(1);
  return rest === '}' ? `${chain}}` : `${chain},${rest}`;
}

export const CSV_COLUMNS = [
  'seq', 'time', 'type', 'actor', 'requester', 'host', 'requestId', 'durationMs', 'expiresAt', 'reason', 'code', 'detail', 'prev', 'hash',
] as const;

export function csvHeader(): string {
  return CSV_COLUMNS.join(',');
}

export function csvRow(stored: StoredAuditEvent): string {
  const e = stored.event;
  const iso = (ms: number | undefined) => (typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : '');
  const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
    seq: String(e.seq),
    time: iso(e.at),
    type: e.type,
    actor: e.actor ?? '',
    requester: e.requester ?? '',
    host: e.host ?? '',
    requestId: e.requestId ?? '',
    durationMs: e.durationMs === undefined ? '' : String(e.durationMs),
    expiresAt: iso(e.expiresAt),
    reason: e.reason ?? '',
    code: e.code ?? '',
    detail: e.detail ?? '',
    prev: e.prev,
    hash: e.hash,
  };
  return CSV_COLUMNS.map((c) => csvCell(cells[c])).join(',');
}

/** RFC 4180 quoting; a leading = + - @ (or tab/CR) would run as a formula in a spreadsheet: prefixed with '. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

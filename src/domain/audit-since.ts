// Where `/jump audit … [since]` starts: a time back from now ("7d", "24h", "90m") or a date ("2026-11-01", UTC
// midnight) or an ISO time with its zone ("2026-11-01T08:00:00Z"). No clock here: the service resolves it.
import { parseDuration } from './duration.ts';

export type AuditSince = { kind: 'ago'; ms: number } | { kind: 'at'; at: number };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// A time must say its zone (Z or ±hh:mm): "10:00" alone would be read in the broker's zone, not the reader's.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** The since of `/jump audit`, or undefined for anything that is not one (a day that does not exist included). */
export function parseAuditSince(text: string): AuditSince | undefined {
  const t = text.trim();
  const ms = parseDuration(t);
  if (ms !== undefined) return { kind: 'ago', ms };
  const date = DATE.exec(t);
  const time = date ? undefined : DATE_TIME.exec(t);
  const parts = date ?? time;
  if (!parts) return undefined;
  const [y, mo, d] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  // Date.UTC rolls 2026-02-30 over to March: a day that does not exist is refused, not moved.
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return undefined;
  if (time && (Number(time[4]) > 23 || Number(time[5]) > 59 || Number(time[6] ?? 0) > 59)) return undefined;
  const at = date ? day.getTime() : Date.parse(t);
  return Number.isFinite(at) ? { kind: 'at', at } : undefined;
}

/** The window's start at `now`. */
export function sinceAt(since: AuditSince, now: number): number {
  return since.kind === 'ago' ? now - since.ms : since.at;
}

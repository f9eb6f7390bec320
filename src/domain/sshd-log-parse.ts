// From sshd's log to SshdEvents (types in sshd-log.ts): a journald JSON record or a syslog file line to a LogEntry,
// then one of the few OpenSSH 9.2 messages the broker acts on to an event. Every pattern is anchored at both ends
// and every address is checked as one: parts of a message come from the client (the user name, a tunnel's host,
// a disconnect text), so a field is only read where sshd's own text puts it. Anything else is undefined. Pure.
import { isIpAddress, isTargetHost } from './ip-address.ts';
import type { LogEntry, SshdEvent } from './sshd-log.ts';

const DIGITS = /^\d{1,19}$/;
const MAX_PID = 2 ** 31 - 1;

function toPid(text: string | undefined): number | undefined {
  const n = text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : 0;
  return n >= 1 && n <= MAX_PID ? n : undefined;
}

function toPort(text: string | undefined): number | undefined {
  const n = text !== undefined && /^\d{1,5}$/.test(text) ? Number(text) : -1;
  return n >= 0 && n <= 65535 ? n : undefined;
}

/** journalctl writes a field that is not printable UTF-8 as an array of its bytes. */
function journalText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value) || !value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return undefined;
  return new TextDecoder('utf-8').decode(Uint8Array.from(value as number[]));
}

/**
 * One line of `journalctl -o json --output-fields=MESSAGE,_PID,__REALTIME_TIMESTAMP`: its cursor and entry.
 * A field given twice (an array of values), a value too large for journalctl (null) or anything malformed: undefined.
 * Any local user may log as "sshd" (`logger -t sshd`); journald's own `_COMM`, if asked for too, tells them apart.
 */
export function parseJournalRecord(line: string): (LogEntry & { cursor: string }) | undefined {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const { __CURSOR: cursor, __REALTIME_TIMESTAMP: micros, _PID: pidText, MESSAGE: raw, _COMM: comm } = record as Record<string, unknown>;
  if (comm !== undefined && comm !== 'sshd' && comm !== 'sshd-session') return undefined;
  if (typeof cursor !== 'string' || cursor === '' || typeof micros !== 'string' || !DIGITS.test(micros)) return undefined;
  const at = Math.floor(Number(micros) / 1000);
  const pid = typeof pidText === 'string' ? toPid(pidText) : undefined;
  const message = journalText(raw);
  if (!Number.isSafeInteger(at) || pid === undefined || message === undefined) return undefined;
  return { cursor, at, pid, message };
}

const PROGRAM = '(\\S+) (sshd|sshd-session)\\[(\\d{1,10})\\]: (.*)';
const RFC3339 = new RegExp(`^(\\d{4})-(\\d\\d)-(\\d\\d)T(\\d\\d):(\\d\\d):(\\d\\d)(?:\\.(\\d{1,9}))?(Z|[+-]\\d\\d:\\d\\d) ${PROGRAM}$`, 's');
const TRADITIONAL = new RegExp(`^([A-Z][a-z]{2}) {1,2}(\\d{1,2}) (\\d\\d):(\\d\\d):(\\d\\d) ${PROGRAM}$`, 's');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY_MS = 86_400_000;

/** Date.UTC of a calendar time, or undefined if any part is out of range (Date.UTC would roll it over). */
function utc(year: number, month: number, day: number, h: number, m: number, s: number): number | undefined {
  const t = Date.UTC(year, month - 1, day, h, m, s);
  const d = new Date(t);
  const valid = d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day && h < 24 && m < 60 && s < 60;
  return valid ? t : undefined;
}

function rfc3339Time(p: string[]): number | undefined {
  const [y, mo, d, h, mi, s] = p.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const base = utc(y, mo, d, h, mi, s);
  const zone = p[8]!;
  if (base === undefined || (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4)) > 59))) return undefined;
  const offset = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4))) * 60_000;
  return base + Number((p[7] ?? '0').padEnd(3, '0').slice(0, 3)) - offset;
}

/** "Dec  2 12:00:00" has no year and no zone: UTC, in now's year unless that is more than a day after now. */
function traditionalTime(p: string[], now: number): number | undefined {
  const month = MONTHS.indexOf(p[1]!) + 1;
  const [d, h, mi, s] = p.slice(2, 6).map(Number) as [number, number, number, number];
  if (month === 0) return undefined;
  const year = new Date(now).getUTCFullYear();
  const thisYear = utc(year, month, d, h, mi, s);
  if (thisYear !== undefined && thisYear <= now + DAY_MS) return thisYear;
  return utc(year - 1, month, d, h, mi, s);
}

/** A line of a syslog file (RFC 3339 or traditional time stamp) written by sshd or sshd-session. */
export function parseSyslogLine(line: string, now: number): LogEntry | undefined {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const r = RFC3339.exec(text);
  const t = r ? undefined : TRADITIONAL.exec(text);
  const at = r ? rfc3339Time(r) : t ? traditionalTime(t, now) : undefined;
  // [pid, message]
  const rest = r ? r.slice(11) : t?.slice(8);
  const pid = toPid(rest?.[0]);
  if (at === undefined || !Number.isFinite(at) || pid === undefined || rest?.[1] === undefined) return undefined;
  return { at, pid, message: rest[1] };
}

const ADDR = '(\\S+) port (\\d{1,5})';
// "user jump " after authentication, "authenticating user x " / "invalid user x " before it (pre-auth lines
// carry a pid no accepted connection has, so they end nothing)
const REMOTE = `(?:(?:authenticating |invalid )?user .+ )?${ADDR}(?: \\[preauth\\])?`;
const ACCEPTED = new RegExp(`^Accepted publickey for (.+) from ${ADDR} ssh2: ([A-Z0-9]+(?:-[A-Z0-9]+)*) (SHA256:[A-Za-z0-9+/]{43})$`);
const USER_CHILD = /^User child is on pid (\d{1,10})$/;
const TUNNEL = /^(?:debug1: )?(?:serverloop\.c:)?server_request_direct_tcpip(?:\(\):\d+ \(pid=\d+\))?: originator .* port \d{1,5}, target (\S+) port (\d{1,5})$/;
const TUNNEL_DENIED = new RegExp(`^Received request from ${ADDR} to connect to host (\\S+) port (\\d{1,5}), but the request was denied\\.$`);
// forwarding switched off for the key (no-port-forwarding, restrict) or the server
const TUNNEL_REFUSED = /^refused local port forward: originator .* port \d{1,5}, target (\S+) port (\d{1,5})$/;
const CLOSED = [
  new RegExp(`^Disconnected from ${REMOTE}$`),
  new RegExp(`^Connection closed by ${REMOTE}$`),
  new RegExp(`^Connection reset by ${REMOTE}$`),
  new RegExp(`^Timeout, client not responding from ${REMOTE}$`),
  new RegExp(`^(?:error: )?Received disconnect from ${ADDR}:\\d{1,10}:(?: .*)?$`),
];
const PAM_CLOSED = /^pam_unix\(sshd:session\): session closed for user .+$/;

/** A tunnel target as "[h]" or h; undefined unless an address or a plain host name. */
function targetOf(host: string, portText: string): { host: string; port: number } | undefined {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const port = toPort(portText);
  return port !== undefined && isTargetHost(h) && (h === host || h.includes(':')) ? { host: h, port } : undefined;
}

function accepted(entry: LogEntry, m: RegExpExecArray): SshdEvent | undefined {
  const [, user, ip, portText, , fingerprint] = m as unknown as [string, string, string, string, string, string];
  const port = toPort(portText);
  if (!isIpAddress(ip) || port === undefined) return undefined;
  return { kind: 'accepted', at: entry.at, pid: entry.pid, user, ip, port, fingerprint };
}

function tunnel(entry: LogEntry, kind: 'tunnel' | 'tunnel-denied', host: string, port: string): SshdEvent | undefined {
  const target = targetOf(host, port);
  return target && { kind, at: entry.at, pid: entry.pid, ...target };
}

function closed(entry: LogEntry): SshdEvent | undefined {
  if (PAM_CLOSED.test(entry.message)) return { kind: 'closed', at: entry.at, pid: entry.pid };
  for (const pattern of CLOSED) {
    const m = pattern.exec(entry.message);
    if (!m) continue;
    const port = toPort(m[2]);
    return isIpAddress(m[1]!) && port !== undefined ? { kind: 'closed', at: entry.at, pid: entry.pid, ip: m[1]!, port } : undefined;
  }
  return undefined;
}

/** The event one sshd message stands for, if it is one of those the broker follows. */
export function parseSshdMessage(entry: LogEntry): SshdEvent | undefined {
  const text = entry.message;
  let m: RegExpExecArray | null;
  if ((m = ACCEPTED.exec(text))) return accepted(entry, m);
  if ((m = USER_CHILD.exec(text))) {
    const child = toPid(m[1]);
    return child === undefined ? undefined : { kind: 'user-child', at: entry.at, pid: entry.pid, child };
  }
  if ((m = TUNNEL.exec(text))) return tunnel(entry, 'tunnel', m[1]!, m[2]!);
  if ((m = TUNNEL_REFUSED.exec(text))) return tunnel(entry, 'tunnel-denied', m[1]!, m[2]!);
  if ((m = TUNNEL_DENIED.exec(text))) {
    return isIpAddress(m[1]!) && toPort(m[2]) !== undefined ? tunnel(entry, 'tunnel-denied', m[3]!, m[4]!) : undefined;
  }
  return closed(entry);
}

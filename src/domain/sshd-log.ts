// What sshd writes to its log about a connection, as data. sshd at LogLevel VERBOSE logs under the connection's
// monitor pid M ("Accepted publickey … SHA256:<fp>", "User child is on pid C"); with
// `LogVerbose serverloop.c:server_request_direct_tcpip():*` the user child logs each tunnel target. Lines are
// parsed, never trusted: anything that does not match exactly is ignored. (Types here; parsing in sshd-log-parse.ts.)

/** One log record as the log source delivers it: when, which process, what it said. */
export interface LogEntry {
  /** ms since the epoch */
  at: number;
  pid: number;
  message: string;
}

export type SshdEvent =
  /** a public-key login succeeded; `pid` is the monitor M */
  | { kind: 'accepted'; at: number; pid: number; user: string; ip: string; port: number; fingerprint: string }
  /** the monitor M forked the unprivileged user child C (the process the jump account may signal) */
  | { kind: 'user-child'; at: number; pid: number; child: number }
  /** a direct-tcpip (ssh -J) channel asked for host:port; logged before the permission check */
  | { kind: 'tunnel'; at: number; pid: number; host: string; port: number }
  /** a direct-tcpip request sshd refused (subtract it from the targets) */
  | { kind: 'tunnel-denied'; at: number; pid: number; host: string; port: number }
  /** the connection ended (disconnect, connection closed, PAM session closed) */
  /** `ip`/`port`: the remote end the line names (all but PAM's): the connection it closes, whichever process logged it */
  | { kind: 'closed'; at: number; pid: number; ip?: string; port?: number };

/** A tunnel line, kept while no line has said whose process logged it (see pending-tunnels.ts). */
export type PendingTunnel = Extract<SshdEvent, { kind: 'tunnel' | 'tunnel-denied' }>;

/**
 * How far a logged time may lie before the instant it stands for: traditional syslog lines carry whole seconds
 * (truncated). A login logged up to this long before a grant's activation may have come under that grant.
 */
export const LOG_TIME_RESOLUTION_MS = 1000;

/** A connection as the broker knows it from the log, per jump server. */
export interface ConnectionRecord {
  /** `<monitor pid>-<accepted at ms>`: unique on one jump server, the same however often the line is read */
  id: string;
  jumpHost: string;
  monitorPid: number;
  childPid?: number;
  fingerprint: string;
  ip: string;
  port: number;
  startedAt: number;
  /** "host:port" of each tunnel opened (denied ones taken out) */
  targets: string[];
  endedAt?: number;
  /** how it ended: the client or network closed it, or the broker ended it when its grant ended */
  endedBy?: 'closed' | 'broker';
}

/** How a grant was used, from its connections. */
export interface GrantUsage {
  connections: number;
  firstAt?: number;
  lastAt?: number;
  /** time with at least one connection open, within the grant's life (ms) */
  usedMs: number;
  sources: string[];
  targets: string[];
}

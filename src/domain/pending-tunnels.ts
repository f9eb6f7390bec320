// Tunnel lines whose process nobody holds yet. sshd's user child runs as soon as its monitor forks it, so under
// load its direct-tcpip line can reach the log before the monitor's "User child is on pid N": the fold keeps such
// a line until a line says whose process it is, and carries the list from one read to the next. Bounded by count
// and by age in the log's own time, so a log full of lines for processes nobody follows cannot grow it. Pure.
import type { PendingTunnel } from './sshd-log.ts';

/** At most this many lines are kept; past it the oldest goes. */
export const MAX_PENDING_TUNNELS = 200;
/**
 * A line older than this, in the time of the latest line read, goes: the monitor names its child within moments
 * of the fork (a busy machine delays it by a second or so); a pid is not reused that soon.
 */
export const PENDING_TUNNEL_MAX_AGE_MS = 60_000;

const keyOf = (t: PendingTunnel): string => `${t.kind} ${t.pid} ${t.at} ${t.host} ${t.port}`;

export class PendingTunnels {
  private lines: PendingTunnel[];

  /**
   * `carried`: the list the last fold left. A line of it that is in this batch again (a re-read) is not kept
   * before that line this time either: the fold meets it again in its place. (A re-read may keep a line the first
   * read gave to a connection that has ended since, as the fold sees live ones only: it then waits, bounded as any,
   * for a child line naming the pid that ended connection's process had.)
   */
  constructor(carried: readonly PendingTunnel[], batch: readonly { kind: string }[]) {
    const again = new Set(batch.flatMap((e) => (e.kind === 'tunnel' || e.kind === 'tunnel-denied' ? [keyOf(e as PendingTunnel)] : [])));
    this.lines = carried.filter((t) => !again.has(keyOf(t)));
  }

  /** Keeps a line (once, however often it is read). */
  hold(line: PendingTunnel): void {
    const key = keyOf(line);
    if (this.lines.some((t) => keyOf(t) === key)) return;
    this.lines.push(line);
    if (this.lines.length > MAX_PENDING_TUNNELS) this.lines.shift();
  }

  /** Takes out, in log order, the lines of process `pid` (to attribute them, or to drop them: the process is over). */
  take(pid: number): PendingTunnel[] {
    const taken = this.lines.filter((t) => t.pid === pid);
    if (taken.length > 0) this.lines = this.lines.filter((t) => t.pid !== pid);
    return taken;
  }

  /** Drops the lines too old for a line logged at `at`. */
  age(at: number): void {
    const from = at - PENDING_TUNNEL_MAX_AGE_MS;
    // log order is not time order (processes write at once, whole-second lines): look at every line
    if (this.lines.some((t) => t.at < from)) this.lines = this.lines.filter((t) => t.at >= from);
  }

  list(): PendingTunnel[] {
    return [...this.lines];
  }
}

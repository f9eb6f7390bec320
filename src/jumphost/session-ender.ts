// Ends one live connection on a jump server: SIGTERM to its user child, which runs as the jump account (the
// broker's own login may signal it; the root monitor cannot be). The child is checked first, since the pid in
// the log may since have been reused: its parent must be the connection's monitor, its uid the jump account's,
// and its name sshd's.
import type { JumpHostConfig } from '../config/policy.ts';
import type { ConnectionRecord } from '../domain/sshd-log.ts';
import type { ExecResult } from './jump-host-connections.ts';

export interface ProcessAccess {
  readRemoteFile(jh: JumpHostConfig, path: string): Promise<string | undefined>;
  exec(jh: JumpHostConfig, argv: readonly string[]): Promise<ExecResult>;
}

export type EndOutcome =
  /** SIGTERM sent to the checked child */
  | 'ended'
  /** the child is gone already (the connection ended by itself) */
  | 'gone'
  /** the pid now belongs to another process: left alone */
  | 'not-ours'
  /** the log named no user child (yet): nothing the broker may signal */
  | 'no-child';

/** The fields of /proc/<pid>/status the check needs. */
export function processStatus(text: string): { name?: string; ppid?: number; uids?: number[] } {
  const field = (f: string) => new RegExp(`^${f}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const ppid = field('PPid');
  const uid = field('Uid');
  return {
    name: field('Name'),
    ppid: ppid !== undefined && /^\d+$/.test(ppid) ? Number(ppid) : undefined,
    uids: uid?.split(/\s+/).filter((u) => /^\d+$/.test(u)).map(Number),
  };
}

/** Whether `status` is the user child of `monitorPid` running as `jumpUid` (sshd, or sshd-session from 9.8). */
export function isUserChild(status: ReturnType<typeof processStatus>, monitorPid: number, jumpUid: number): boolean {
  return (
    (status.name === 'sshd' || status.name === 'sshd-session') &&
    status.ppid === monitorPid &&
    status.uids !== undefined &&
    status.uids.length === 4 &&
    status.uids.every((u) => u === jumpUid)
  );
}

export class SessionEnder {
  private readonly uids = new Map<string, number>();

  constructor(private readonly access: ProcessAccess) {}

  async end(jh: JumpHostConfig, c: ConnectionRecord): Promise<EndOutcome> {
    if (c.childPid === undefined) return 'no-child';
    const text = await this.access.readRemoteFile(jh, `/proc/${c.childPid}/status`);
    if (text === undefined) return 'gone';
    if (!isUserChild(processStatus(text), c.monitorPid, await this.jumpUid(jh))) return 'not-ours';
    const r = await this.access.exec(jh, ['kill', '-TERM', String(c.childPid)]);
    return r.code === 0 ? 'ended' : 'gone';
  }

  /** The jump account's uid: the broker's own SFTP server runs as it, so its /proc/self/status says. */
  private async jumpUid(jh: JumpHostConfig): Promise<number> {
    const known = this.uids.get(jh.name);
    if (known !== undefined) return known;
    const uid = processStatus((await this.access.readRemoteFile(jh, '/proc/self/status')) ?? '').uids?.[0];
    if (uid === undefined) throw new Error(`jump host ${jh.name}: cannot read the jump account's uid from /proc/self/status`);
    this.uids.set(jh.name, uid);
    return uid;
  }
}

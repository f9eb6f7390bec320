// check-config, per jump server with an sshdLog: is the log readable as the jump account, does it show sshd's
// VERBOSE lines (the broker's own "Accepted publickey" and "User child is on pid" lines), and can the broker see
// its own user child in /proc (what ending a session needs). Read only.
import type { JumpHostConfig } from '../config/policy.ts';
import { parseSshdMessage } from '../domain/sshd-log-parse.ts';
import type { SshdEvent } from '../domain/sshd-log.ts';
import { readSshdLog, type LogAccess } from './sshd-log-reader.ts';
import { isUserChild, processStatus, type ProcessAccess } from './session-ender.ts';

export interface LogCheck {
  ok: string[];
  warn: string[];
  fail: string[];
}

/** sshd writes the login's lines as it happens; a busy journal may show them a moment later. */
const ATTEMPTS = 5;
const RETRY_MS = 400;

export async function checkSshdLog(access: LogAccess & ProcessAccess, jh: JumpHostConfig, brokerFingerprint: string | undefined, now: () => number): Promise<LogCheck> {
  const r: LogCheck = { ok: [], warn: [], fail: [] };
  if (!jh.sshdLog) {
    r.warn.push('no sshdLog: connections are not reported per grant, and live sessions outlast their grant (set sshdLog, see README "Jump server setup")');
    return r;
  }
  const source = 'journal' in jh.sshdLog ? 'the journal (journalctl)' : jh.sshdLog.file;
  let events: SshdEvent[] = [];
  let own: Extract<SshdEvent, { kind: 'accepted' }> | undefined;
  for (let i = 0; i < ATTEMPTS && !ownChild(events, own); i++) {
    if (i > 0) await new Promise((res) => setTimeout(res, RETRY_MS));
    try {
      const read = await readSshdLog(access, jh, jh.sshdLog, undefined, now());
      events = read.entries.flatMap((e): SshdEvent[] => {
        const event = parseSshdMessage(e);
        return event ? [event] : [];
      });
    } catch (err) {
      r.fail.push(`cannot read sshd's log from ${source} as ${jh.user}: ${(err as Error).message} (journal: put ${jh.user} in group systemd-journal or adm; file: group adm)`);
      return r;
    }
    own = [...events].reverse().find((e): e is Extract<SshdEvent, { kind: 'accepted' }> => e.kind === 'accepted' && e.fingerprint === brokerFingerprint);
  }
  if (!own) {
    r.warn.push(`${source} is readable but shows no "Accepted publickey" line for the broker's own login: set LogLevel VERBOSE in sshd_config (and check that ${jh.user} sees sshd's lines)`);
    return r;
  }
  r.ok.push(`sshd log ${source} readable; shows VERBOSE lines (the broker's own login from ${own.ip})`);
  const child = ownChild(events, own);
  if (!jh.endSessions) return r;
  if (!child) {
    r.warn.push(`no "User child is on pid" line for the broker's login: live sessions cannot be ended (a root jump account has none; use a non-root one)`);
    return r;
  }
  const status = await access.readRemoteFile(jh, `/proc/${child}/status`).catch(() => undefined);
  const self = processStatus((await access.readRemoteFile(jh, '/proc/self/status').catch(() => undefined)) ?? '');
  if (status === undefined || self.uids?.[0] === undefined || !isUserChild(processStatus(status), own.pid, self.uids[0]))
    r.warn.push(`${jh.user} cannot see its own sshd child in /proc (pid ${child}): live sessions cannot be ended (is /proc mounted with hidepid?)`);
  else r.ok.push(`live sessions can be ended: ${jh.user} sees its sshd children in /proc`);
  return r;
}

function ownChild(events: readonly SshdEvent[], own: { pid: number } | undefined): number | undefined {
  if (!own) return undefined;
  const e = events.find((x): x is Extract<SshdEvent, { kind: 'user-child' }> => x.kind === 'user-child' && x.pid === own.pid);
  return e?.child;
}

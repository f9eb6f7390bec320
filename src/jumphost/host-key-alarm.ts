// A jump server presenting another host key is either rebuilt or impersonated: nothing is written (the SSH
// handshake stops before any SFTP), and the operator hears about it in the audit channel with both fingerprints.
import type { Logger } from 'pino';
import type { JumpHostConfig } from '../config/policy.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { Clock } from '../domain/clock.ts';
import { HostKeyMismatchError } from './errors.ts';
import type { AuthorizedKeysUpdater } from './jump-host-sync.ts';

export interface HostKeyAlarmOptions {
  /** appends the alert to the audit stream (posted to the audit channel by the forwarder) */
  audit: (event: AuditEvent) => Promise<void>;
  logger: Logger;
  clock: Clock;
  /** one alert per jump host and presented key per this long: sync retries would otherwise flood the channel */
  quietMs?: number;
  /**
   * Claims the alert for this jump host and presented key for `quietMs`, across replicas (true: this caller
   * alerts). Without it, each process keeps its own quiet period.
   */
  claim?: (jumpHost: string, presented: string, quietMs: number) => Promise<boolean>;
}

export function withHostKeyAlarm(updater: AuthorizedKeysUpdater, o: HostKeyAlarmOptions): AuthorizedKeysUpdater {
  const lastAlert = new Map<string, number>();
  const quietMs = o.quietMs ?? 10 * 60_000;
  return {
    async updateAuthorizedKeys(jh: JumpHostConfig, update, guard) {
      try {
        return await updater.updateAuthorizedKeys(jh, update, guard);
      } catch (err) {
        if (err instanceof HostKeyMismatchError) {
          const now = o.clock.now();
          const key = `${err.jumpHost} ${err.actual}`;
          o.logger.error(
            { jumpHost: err.jumpHost, pinned: err.expected, presented: err.actual },
            `jump host ${err.jumpHost} presented host key ${err.actual}, but ${err.expected} is pinned: nothing was written`,
          );
          const quietHere = now - (lastAlert.get(key) ?? -Infinity) < quietMs;
          if (!quietHere) lastAlert.set(key, now);
          const claimed = quietHere ? false : o.claim ? await o.claim(err.jumpHost, err.actual, quietMs).catch(() => true) : true;
          if (claimed) {
            await o
              .audit({
                type: 'jump-host-alert',
                at: now,
                detail: `host key mismatch on jump host ${err.jumpHost}: pinned ${err.expected}, presented ${err.actual}; nothing was written. Check the server before changing hostKey in the policy`,
              })
              .catch((auditErr: unknown) => o.logger.error({ err: auditErr }, 'could not append the host key alert to the audit stream'));
          }
        }
        throw err;
      }
    },
  };
}

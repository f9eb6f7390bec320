// How a grant was used, from the connections its key made on its jump server: the line `/jump list`, the end
// message and the approval message show ("used 14 min in 3 connections from … to …", or "not used").
import type { Policy } from '../config/policy.ts';
import { describeUsage, grantUsage } from '../domain/connection-tracking.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { LOG_TIME_RESOLUTION_MS, type GrantUsage } from '../domain/sshd-log.ts';
import type { ConnectionStore } from '../store/connection-store.ts';

/** The `host:port` a grant's tunnel opens, as sshd logs it (IPv6 in brackets); undefined if the host left the policy. */
export function grantTarget(policy: Policy, grant: Pick<AccessRequest, 'host'>): string | undefined {
  const host = policy.hosts.find((h) => h.name === grant.host);
  if (!host) return undefined;
  const address = host.address.replace(/^\[(.*)\]$/, '$1');
  return address.includes(':') ? `[${address}]:${host.port}` : `${address}:${host.port}`;
}

export class ConnectionReports {
  constructor(private readonly o: { policy: Policy; store: Pick<ConnectionStore, 'forKey'> }) {}

  /** The grant's usage as one line, or undefined where its jump server's log is not read (no sshdLog). */
  async usage(grant: AccessRequest, now: number): Promise<string | undefined> {
    const usage = await this.measure(grant, now);
    return usage && describeUsage(usage);
  }

  /** The grant's usage in figures, or undefined where its jump server's log is not read (no sshdLog). */
  async measure(grant: AccessRequest, now: number): Promise<GrantUsage | undefined> {
    const jh = this.o.policy.jumpHosts.find((j) => j.name === grant.jumpHost);
    const target = grantTarget(this.o.policy, grant);
    if (!jh?.sshdLog || !grant.keyFingerprint || grant.activatedAt === undefined || !target) return undefined;
    const until = grant.endedAt ?? now;
    // A logged time may lie up to a second early (whole-second syslog lines): grantUsage decides on those.
    const connections = await this.o.store.forKey(jh.name, grant.keyFingerprint, grant.activatedAt - LOG_TIME_RESOLUTION_MS, until);
    return grantUsage({ fingerprint: grant.keyFingerprint, target, activatedAt: grant.activatedAt, endedAt: grant.endedAt }, connections, now, LOG_TIME_RESOLUTION_MS);
  }
}

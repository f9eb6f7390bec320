// A grant's usage line, from the connections the store holds for its key: the window asked of the store and the
// connections counted in it (the broker's clock for the grant, the jump server's log for the connections).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy } from '../../src/config/policy.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import type { ConnectionRecord } from '../../src/domain/sshd-log.ts';
import { ConnectionReports } from '../../src/jumphost/connection-reports.ts';

const FP = 'SHA256:' + 'A'.repeat(43);
const T = Date.UTC(2026, 11, 2, 12, 0, 0);

const policy = validatePolicy({
  auditChannel: 'C0AUDIT',
  jumpHosts: [{ name: 'bastion', address: '127.0.0.1', user: 'jitjump', hostKey: FP, privateKeyPath: '/k', sshdLog: { journal: true } }],
  hosts: [{ name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0OWNER'] }],
});

function grant(id: string, activatedAt: number, endedAt: number): AccessRequest {
  return { id, requester: 'U0ENGINEER', host: 'db-1', jumpHost: 'bastion', durationMs: 600_000, reason: 'r', state: 'revoked', createdAt: activatedAt, requiredApprovals: 1, approvers: ['U0OWNER'], activatedAt, expiresAt: activatedAt + 600_000, endedAt, keyFingerprint: FP };
}

function connection(pid: number, startedAt: number, endedAt: number, endedBy: ConnectionRecord['endedBy']): ConnectionRecord {
  return { id: `${pid}-${startedAt}`, jumpHost: 'bastion', monitorPid: pid, fingerprint: FP, ip: '127.0.0.1', port: 40000 + pid, startedAt, endedAt, endedBy, targets: ['10.0.0.5:22'] };
}

/** The store's forKey: the key's connections that started within [from, to]. */
function reports(connections: readonly ConnectionRecord[]): ConnectionReports {
  const forKey = async (_jh: string, fp: string, from: number, to: number) => connections.filter((c) => c.fingerprint === fp && c.startedAt >= from && c.startedAt <= to);
  return new ConnectionReports({ policy, store: { forKey } });
}

describe('connection reports', () => {
  it('a session of the key’s previous grant that started just before this grant’s activation, and that the broker ended before it, is not this grant’s', async () => {
    // The previous grant's live session: logged 0.6 s before the next grant of the same key was activated, ended by
    // the broker when that previous grant ended, before the activation (the next grant was asked for and approved at once).
    const previous = connection(100, T - 600, T - 150, 'broker');
    const hop1 = connection(200, T + 2_000, T + 2_400, 'closed');
    const hop2 = connection(300, T + 4_000, T + 4_300, 'closed');
    const usage = await reports([previous, hop1, hop2]).usage(grant('g2', T, T + 6_000), T + 6_000);
    assert.equal(usage, 'used under 1 min in 2 connections from 127.0.0.1 to 10.0.0.5:22');
  });

  it('a login logged up to a second before the activation is the grant’s (whole-second log lines); one logged earlier is not', async () => {
    const sameSecond = connection(100, T - 900, T + 90_000, 'closed');
    const earlier = connection(200, T - 1_001, T + 30_000, 'closed');
    const usage = await reports([sameSecond, earlier]).usage(grant('g', T, T + 120_000), T + 120_000);
    assert.equal(usage, 'used 1 min in 1 connection from 127.0.0.1 to 10.0.0.5:22', 'used from the activation on: 90 s');
  });
});

// The access service wired to in-memory ports: every use case runs in milliseconds, without Redis or sshd.
import { generateKeyPairSync } from 'node:crypto';
import sshpk from 'sshpk';
import { validatePolicy, type Policy } from '../../../src/config/policy.ts';
import type { AuditEvent } from '../../../src/domain/audit-event.ts';
import { AccessService } from '../../../src/service/access-service.ts';
import type { AccessRequest } from '../../../src/domain/request-state.ts';
import type { Log, UsageReports } from '../../../src/service/ports.ts';
import { InMemoryBlockSync, InMemoryJobs, InMemoryRateLimits, ManualClock, RecordingNotifier, StaticOwners } from './edges.ts';
import { InMemoryKeys, InMemoryStandingKeys } from './keys.ts';
import { InMemoryRequests } from './requests.ts';

export const ENG = 'U0ENG';
export const ALICE = 'U0ALICE';
export const BOB = 'U0BOB';
export const CAROL = 'U0CAROL';
export const MALLORY = 'U0MALLORY';
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** db-1 needs two approvals from Alice and Bob; web-1 one from Alice, no reason; cache-1 its owners' group. */
export function unitPolicy(overrides: Record<string, unknown> = {}): Policy {
  return validatePolicy({
    auditChannel: 'C0AUDIT',
    defaults: { duration: '1h', minDuration: '5m', maxDuration: '4h', requireReason: true, approvals: 1, approvalTimeout: '1h', expiryWarning: '10m' },
    limits: { requestsPerWindow: 5, keyChangesPerWindow: 3, maxPendingRequests: 2, window: '1h' },
    jumpHosts: [{ name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: `SHA256:${'A'.repeat(43)}`, privateKeyPath: '/k' }],
    hosts: [
      { name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', loginUser: 'postgres', owners: [ALICE, BOB], maxDuration: '2h', approvals: 2 },
      { name: 'web-1', address: '10.0.0.7', jumpHost: 'bastion', owners: [ALICE], requireReason: false },
      { name: 'cache-1', address: '10.0.0.9', jumpHost: 'bastion', owners: ['S0CACHE'] },
    ],
    ...overrides,
  });
}

/** A fresh ed25519 public key line, made in-process. */
export function publicKeyLine(comment = 'me@laptop'): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return `${sshpk.parseKey(pem, 'pem').toString('ssh').split(' ').slice(0, 2).join(' ')} ${comment}`;
}

export type Harness = ReturnType<typeof inMemoryService>;

export function inMemoryService(o: { policy?: Policy; rateLimited?: boolean; usage?: UsageReports } = {}) {
  const policy = o.policy ?? unitPolicy();
  const audit: AuditEvent[] = [];
  const clock = new ManualClock();
  const requests = new InMemoryRequests(audit);
  const keys = new InMemoryKeys(audit);
  const standingKeys = new InMemoryStandingKeys();
  const sync = new InMemoryBlockSync({ policy, requests, keys, clock });
  const notifier = new RecordingNotifier();
  const jobs = new InMemoryJobs();
  const owners = new StaticOwners({ S0CACHE: [CAROL] });
  const logs: { level: string; obj: object; msg: string }[] = [];
  const logger: Log = {
    info: (obj, msg) => void logs.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void logs.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void logs.push({ level: 'error', obj, msg }),
  };
  let n = 0;
  const deps = {
    policy,
    requests,
    keys,
    standingKeys,
    sync,
    jobs,
    notifier,
    owners,
    clock,
    logger,
    newId: () => `rtest${++n}`,
    limits: o.rateLimited === false ? undefined : new InMemoryRateLimits(),
    usage: o.usage,
    // The audit trail as the store keeps it, selected by time as the Redis stream is.
    auditTrail: {
      async *events(sinceMs: number, untilMs: number) {
        for (const e of [...audit]) if (e.at >= sinceMs && e.at <= untilMs) yield e;
      },
    },
  };
  const service = new AccessService(deps);
  /** The same ports served under another policy: the broker restarted after the policy file changed. */
  const restartedWith = (changed: Policy) => new AccessService({ ...deps, policy: changed });
  /** Runs a use case and its follow-up work (what the Slack layer does after the ack). */
  const run = async <T extends { after?: () => Promise<void> }>(outcome: Promise<T>): Promise<T> => {
    const o = await outcome;
    await o.after?.();
    return o;
  };
  const registerKey = async (user: string) => {
    const out = await run(service.command(user, `key add ${publicKeyLine()}`));
    if (out.reply?.kind !== 'key-saved') throw new Error(`key not registered: ${JSON.stringify(out.reply)}`);
  };
  /** A pending request by `user`, through the real command; its id. */
  const request = async (user: string, text: string): Promise<string> => {
    const out = await run(service.command(user, `request ${text}`));
    if (out.reply?.kind !== 'request-sent') throw new Error(`request refused: ${JSON.stringify(out.reply)}`);
    return out.reply.id;
  };
  /** A request by `user` for web-1 of `duration`, approved by ALICE, its follow-up not yet run; its id. */
  const approvedGrant = async (user: string, duration = '2h'): Promise<string> => {
    const id = await request(user, `web-1 ${duration}`);
    const out = await service.approve(id, ALICE);
    if (!out.after) throw new Error(`approval owes no follow-up: ${JSON.stringify(out.reply)}`);
    return id;
  };
  return { service, restartedWith, owners, policy, audit, clock, requests, keys, standingKeys, sync, notifier, jobs, logs, run, registerKey, request, approvedGrant };
}

/** `get` answers `stale` once (the copy read before another replica moved the request on), then the store. */
export function staleOnce(h: Harness, stale: AccessRequest): void {
  const real = h.requests.get.bind(h.requests);
  let used = false;
  h.requests.get = async (id: string) => {
    if (!used && id === stale.id) {
      used = true;
      return structuredClone(stale);
    }
    return real(id);
  };
}

// What /readyz checks and /metrics reads, built from the broker's parts (composition root, beside broker.ts).
import type { Redis } from 'ioredis';
import type { Policy } from './config/policy.ts';
import type { Clock } from './domain/clock.ts';
import { auditBacklog } from './audit/audit-forwarder.ts';
import type { HealthProbes } from './observability/health.ts';
import { BrokerMetrics, type REPAIR_KINDS } from './observability/metrics.ts';
import type { ReconcileReport } from './scheduling/reconciler.ts';
import type { SlackReachability } from './slack/slack-reachability.ts';
import type { RequestStore } from './store/request-store.ts';

/** The metrics, reading active grants, the audit backlog and the last reconcile from Redis when scraped. */
export function brokerMetrics(p: { redis: Redis; requests: RequestStore; policy: Policy; auditStream: string; clock: Clock }): BrokerMetrics {
  const { redis, requests, policy, clock } = p;
  return new BrokerMetrics(
    {
      async activeGrants() {
        const perHost = new Map<string, number>(policy.hosts.map((h) => [h.name, 0]));
        for (const j of policy.jumpHosts) {
          for (const host of await requests.activeGrantHosts(j.name, clock.now())) perHost.set(host, (perHost.get(host) ?? 0) + 1);
        }
        return perHost;
      },
      auditBacklog: () => auditBacklog(redis, p.auditStream),
      lastReconcile: () => requests.lastReconcile(),
    },
    policy.jumpHosts.map((j) => j.name),
  );
}

/** What one reconcile pass repaired, by kind (jit_reconcile_repairs_total). */
export function repairsOf(r: ReconcileReport): Record<(typeof REPAIR_KINDS)[number], number> {
  return {
    timed_out: r.timedOut.length,
    expired: r.expired.length,
    activation_finished: r.activationsOwed.length,
    retired: r.retired.length,
    block_rewritten: r.jumpHosts.filter((j) => j.result?.changed).length,
  };
}

/**
 * Ready: Redis answers, the job workers run, a reconcile pass (any replica's) finished within two intervals
 * (or the broker started more recently than that), and Slack accepts the bot token. Each jump server's last
 * sync is reported but does not decide: one unreachable bastion must not take the broker out of service for
 * the others (and a broker out of service does not bring it back).
 */
export function healthProbes(p: {
  redis: Redis;
  requests: RequestStore;
  policy: Policy;
  workers: { isRunning(): boolean }[];
  slack: SlackReachability;
  metrics: BrokerMetrics;
  startedAt: number;
  now: () => number;
}): HealthProbes {
  return {
    readiness: {
      redis: async () => ((await p.redis.ping()) === 'PONG' ? undefined : 'Redis did not answer PING'),
      workers: async () => (p.workers.every((w) => w.isRunning()) ? undefined : 'a job worker is not running'),
      reconcile: async () => {
        const staleAfter = 2 * p.policy.reconcileInterval;
        if (p.now() - p.startedAt < staleAfter) return undefined;
        const last = await p.requests.lastReconcile();
        if (last !== undefined && p.now() - last <= staleAfter) return undefined;
        return last === undefined ? 'no reconcile pass has finished yet' : `the last reconcile pass finished ${Math.round((p.now() - last) / 1000)} s ago (more than two intervals)`;
      },
      slack: async () => p.slack.status(),
    },
    informational: async () => Object.fromEntries(p.policy.jumpHosts.map((j) => [`jumpHost:${j.name}`, p.metrics.jumpHostStatus(j.name)])),
    metrics: () => p.metrics.scrape(),
  };
}

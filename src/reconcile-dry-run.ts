// `jit-jump reconcile --dry-run`: what the next reconcile would change on every jump server and which stuck
// requests it would move on, read from Redis and the jump servers, without writing anything.
import pino from 'pino';
import { createSyncParts } from './broker.ts';
import type { Policy } from './config/policy.ts';
import { systemClock } from './domain/clock.ts';
import { connectOnce } from './store/redis-connection.ts';
import { formatReconcileReport, Reconciler } from './scheduling/reconciler.ts';

export async function reconcileDryRun(o: { redisUrl: string; policy: Policy; print: (text: string) => void; redisPrefix?: string }): Promise<number> {
  const logger = pino({ level: 'silent' });
  const redis = await connectOnce(o.redisUrl, 5000);
  const { requests, connections, sync } = createSyncParts({ redis, policy: o.policy, clock: systemClock, logger, redisPrefix: o.redisPrefix, hostKeyAlarm: false });
  const refuse = () => Promise.reject(new Error('dry run: nothing is changed'));
  try {
    const reconciler = new Reconciler({
      policy: o.policy,
      requests,
      sync,
      actions: { expire: refuse, timeOut: refuse, completeActivation: refuse, endForRetiredJumpHost: refuse },
      clock: systemClock,
      logger,
      activationGraceMs: 30_000,
    });
    const report = await reconciler.plan();
    o.print(formatReconcileReport(report));
    return report.jumpHosts.some((j) => j.error) ? 1 : 0;
  } finally {
    await connections.close();
    redis.disconnect();
  }
}

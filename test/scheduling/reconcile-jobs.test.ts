// The reconcile schedule (one BullMQ job scheduler, every reconcileInterval) on a real Redis: an interval changed
// between deployments holds from the next start, also after a reconcile that ran longer than the interval.
// (BullMQ kept the old schedule's phase, and a late tick then waited for it: reconciles up to the old interval apart.)
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { ReconcileJobs } from '../../src/scheduling/reconcile-jobs.ts';
import { until } from '../support/flow.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

describe('reconcile schedule', () => {
  const db = useFreshRedis();
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(db.url, { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  const reconcileJobs = (everyMs: number) => new ReconcileJobs({ producer: connect(), workerConnection: connect, logger: pino({ level: 'silent' }), everyMs });
  after(() => connections.forEach((c) => c.disconnect()));

  it('an interval changed from 1h to 1s runs every second from the next start, also after a reconcile slower than 1s', async () => {
    // The previous deployment: its first reconcile runs at once, the next one would come in an hour.
    const before = reconcileJobs(3_600_000);
    let beforeRuns = 0;
    await before.start(async () => void beforeRuns++);
    await until('the first reconcile of the 1h schedule', () => beforeRuns === 1, 30_000);
    await before.close();

    const runs: number[] = [];
    const now = reconcileJobs(1000);
    await now.start(async () => {
      runs.push(Date.now());
      // The first reconcile outlasts two ticks: the tick after it runs late.
      if (runs.length === 1) await sleep(2500);
    });
    try {
      // Every second: a few more after the slow one (the old phase put the next one up to an hour away).
      await until('three reconciles after the slow one', () => runs.length >= 4, 60_000);
    } finally {
      await now.close();
    }
    assert.equal(beforeRuns, 1, 'the old schedule ran no more');
  });
});

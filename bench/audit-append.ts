// Cost of the audit hash chain: append-audit round trips (Lua: SHA-256 in the script) against a real
// redis-server, p50/p99 over 2,000 appends of a realistic event, and the Redis CPU each costs (INFO
// commandstats). That CPU is the figure to compare: Redis runs every script on its one thread. The average over
// the whole run grows with the machine's load (the thread is preempted inside a call), so the CPU is also shown
// per batch of 100 calls: the best batch is what a quiet machine gives. An approval (approve.lua: two events,
// the second changed in Lua) is measured the same way. Prints figures; not a test.
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import type { AccessRequest } from '../src/domain/request-state.ts';
import { startRedis } from '../src/sandbox/redis-process.ts';
import { RequestStore } from '../src/store/request-store.ts';
import { fmt, summarize, summaryLine } from './stats.ts';

const BATCH = 100;

async function main(): Promise<void> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    const store = new RequestStore(redis);
    const usec = async () => Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? NaN);
    /** Redis CPU (µs) per call of `run`, per batch of BATCH calls. */
    const batches = async (count: number, run: (i: number) => Promise<unknown>) => {
      const perCall: number[] = [];
      for (let b = 0; b < count; b++) {
        const before = await usec();
        for (let i = 0; i < BATCH; i++) await run(b * BATCH + i);
        perCall.push(((await usec()) - before) / BATCH);
      }
      return `best batch ${fmt(Math.min(...perCall))} µs, median batch ${fmt(summarize(perCall).p50)} µs`;
    };

    const event = { type: 'refused' as const, at: Date.now(), actor: 'U0ALICE', host: 'db-prod-1', reason: 'x'.repeat(120), detail: 'approve: not an owner of db-prod-1 '.repeat(4) };
    for (let i = 0; i < 200; i++) await store.appendAudit(event);
    const n = 2000;
    const ms: number[] = [];
    const cpuBefore = await usec();
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      await store.appendAudit(event);
      ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const cpuAverage = ((await usec()) - cpuBefore) / n;
    const appendBatches = await batches(20, () => store.appendAudit(event));

    // Approvals: requests made first (their own appends are not counted), then each approved by one owner.
    const request = (i: number): AccessRequest => ({
      id: `rbench${i}`, requester: 'U0BOB', host: 'db-prod-1', jumpHost: 'bastion', durationMs: 7_200_000, reason: 'INC-1234 fix replication lag',
      state: 'pending', createdAt: Date.now(), requiredApprovals: 1, approvers: [],
    });
    const rules = { approvalTimeoutMs: 86_400_000, maxDurationMs: 8 * 3_600_000, requiredApprovals: 1, maxTotalMs: 24 * 3_600_000 };
    const approvals = 10 * BATCH;
    for (let i = 0; i < approvals; i++) {
      const r = request(i);
      await store.create(r, { type: 'requested', at: r.createdAt, requestId: r.id, requester: r.requester, host: r.host, reason: r.reason, durationMs: r.durationMs });
    }
    const approveBatches = await batches(approvals / BATCH, (i) => store.approve(request(i), 'U0ALICE', Date.now(), rules));

    console.log(summaryLine(`append-audit round trip (${JSON.stringify(event).length}-byte event)`, ms));
    console.log(`Redis CPU per append: ${fmt(cpuAverage)} µs average over the ${n}; ${appendBatches}`);
    console.log(`Redis CPU per approval (approve.lua, 2 events): ${approveBatches}`);
    console.log(`load average (1 min) ${loadavg()[0]!.toFixed(2)}`);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

void main();

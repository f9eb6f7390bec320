// Cost of the audit hash chain: one append-audit round trip (Lua: canonical JSON + SHA-256 in the script)
// against a real redis-server, p50/p99 over 2,000 appends of a realistic event. Prints figures; not a test.
import { Redis } from 'ioredis';
import { startRedis } from '../src/sandbox/redis-process.ts';
import { RequestStore } from '../src/store/request-store.ts';
import { summaryLine } from './stats.ts';

async function main(): Promise<void> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    const store = new RequestStore(redis);
    const event = { type: 'refused' as const, at: Date.now(), actor: 'U0ALICE', host: 'db-prod-1', reason: 'x'.repeat(120), detail: 'approve: not an owner of db-prod-1 '.repeat(4) };
    for (let i = 0; i < 200; i++) await store.appendAudit(event);
    const n = 2000;
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      await store.appendAudit(event);
      ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const stats = (await redis.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha:'))?.trim();
    console.log(summaryLine(`append-audit round trip (${JSON.stringify(event).length}-byte event)`, ms));
    console.log(`redis ${stats ?? ''}`);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

void main();

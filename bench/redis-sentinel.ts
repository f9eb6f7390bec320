// What Sentinel costs and how fast it recovers, against real redis-server + redis-sentinel processes:
// 1. a state change (a Lua script like the broker's) with and without WAIT for one replica;
// 2. repeated kill -9 of the primary: time until the sentinels promote the replica, and until a broker-style
//    client (REDIS_URL=redis+sentinel://…) writes again.
// Run: node_modules/.bin/tsx bench/redis-sentinel.ts [iterations] [failovers]
import type { Redis } from 'ioredis';
import { createRedisClient, parseRedisUrl } from '../src/store/redis-connection.ts';
import { withRedisNode } from '../test/support/failover.ts';
import { startSentinelSet } from '../test/support/redis-sentinel.ts';

const iterations = Number(process.argv[2] ?? 2000);
const failovers = Number(process.argv[3] ?? 5);

// Same shape as the broker's transitions: check a field, set it, append to the audit stream.
const SCRIPT = `
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000', '*', 'e', ARGV[1])
return 1
`;

function stats(name: string, samples: number[]): void {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
  console.log(`${name.padEnd(52)} n=${String(s.length).padStart(5)}  p50 ${at(0.5).toFixed(2).padStart(8)} ms  p99 ${at(0.99).toFixed(2).padStart(8)} ms  max ${at(1).toFixed(2).padStart(8)} ms`);
}

async function timeScripts(client: Redis): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await client.eval(SCRIPT, 2, '{jit}:bench:req', '{jit}:bench:audit', `s${i}`);
    out.push(performance.now() - t);
  }
  return out;
}

const set = await startSentinelSet({ replicas: 1, downAfterMs: 1000, failoverTimeoutMs: 5000 });
try {
  let short = 0;
  const waiting = createRedisClient(parseRedisUrl(set.url), 'commands', { onUnreplicated: () => short++ }) as Redis;
  const plain = createRedisClient(parseRedisUrl(`${set.url}?waitReplicas=0`), 'commands') as Redis;
  for (const c of [waiting, plain]) c.on('error', () => undefined);
  await timeScripts(plain); // warm-up
  stats('state change, no WAIT (waitReplicas=0)', await timeScripts(plain));
  stats('state change + WAIT 1 replica (default)', await timeScripts(waiting));
  console.log(`  unacknowledged within 500 ms: ${short}`);

  const promoted: number[] = [];
  const writing: number[] = [];
  for (let i = 0; i < failovers; i++) {
    const old = await set.primary();
    const t = performance.now();
    await old.kill9();
    const stop = { done: false };
    // a write loop, as Slack commands would arrive: each failure is a "try again" for someone
    const firstWrite = (async () => {
      for (;;) {
        try {
          await plain.set('{jit}:bench:alive', String(i));
          return performance.now() - t;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
        if (stop.done) return NaN;
      }
    })();
    await set.failedOverFrom(old);
    promoted.push(performance.now() - t);
    writing.push(await firstWrite);
    stop.done = true;
    // the old primary comes back as the new replica, for the next round
    await old.restart();
    for (;;) {
      const [role, , port] = (await withRedisNode(old.port, (c) => c.call('ROLE')).catch(() => [])) as [string, string, number];
      if (role === 'slave' && port === (await set.primary()).port) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  stats('kill -9 primary → replica promoted (sentinels agree)', promoted);
  stats('kill -9 primary → client writes again', writing);
  waiting.disconnect();
  plain.disconnect();
} finally {
  await set.stop();
}

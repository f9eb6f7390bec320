// A Redis Sentinel set on loopback: a primary, its replica(s) and three sentinels (quorum 2), each a real
// process with its own temp dir, stopped by PID. Short timings so a failover takes seconds, not a minute.
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';
import { withRedisNode } from './failover.ts';

export const MASTER_NAME = 'jit-primary';

export interface SentinelSet {
  /** redis+sentinel://… naming the three sentinels and the master */
  url: string;
  /** the data nodes in start order: [0] is the first primary */
  nodes: RedisProcess[];
  sentinels: RedisProcess[];
  /** the node the sentinels name as primary now */
  primary(): Promise<RedisProcess>;
  /** resolves when every sentinel names a primary other than `old` */
  failedOverFrom(old: RedisProcess, timeoutMs?: number): Promise<RedisProcess>;
  stop(): Promise<void>;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`sentinel set: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SENTINEL MASTER's flat field list as an object. */
async function masterInfo(sentinel: RedisProcess): Promise<Record<string, string>> {
  return withRedisNode(sentinel.port, async (c) => {
    const flat = (await c.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[];
    const out: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
    return out;
  });
}

export async function startSentinelSet(opts: { replicas?: number; downAfterMs?: number; failoverTimeoutMs?: number } = {}): Promise<SentinelSet> {
  const nodes: RedisProcess[] = [];
  const sentinels: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all([...sentinels, ...nodes].map((p) => p.stop().catch(() => undefined)));
  };
  try {
    // AOF on every node: a node restarted after a crash keeps what it had acknowledged.
    nodes.push(await startRedis({ appendonly: true }));
    const first = nodes[0]!;
    for (let i = 0; i < (opts.replicas ?? 1); i++) {
      nodes.push(await startRedis({ appendonly: true, args: ['--replicaof', '127.0.0.1', String(first.port)] }));
    }
    const config = [
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${first.port} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} ${opts.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${MASTER_NAME} ${opts.failoverTimeoutMs ?? 5000}`,
      `sentinel parallel-syncs ${MASTER_NAME} 1`,
    ].join('\n');
    for (let i = 0; i < 3; i++) sentinels.push(await startRedis({ sentinelConfig: config }));
    // A failover needs each sentinel to know the replicas (from the primary's INFO) and its two peers (hello
    // messages every 2 s): wait for both before anyone kills the primary.
    const replicas = opts.replicas ?? 1;
    await until(
      'sentinels to see the replicas and each other',
      async () => {
        const infos = await Promise.all(sentinels.map(masterInfo));
        return infos.every((m) => Number(m['num-slaves']) === replicas && Number(m['num-other-sentinels']) === 2) || undefined;
      },
      30_000,
    );
    await until('replicas in sync', () => withRedisNode(first.port, async (c) => ((await c.info('replication')).match(/state=online/g)?.length === replicas) || undefined), 15_000);

    const byPort = (port: number) => nodes.find((n) => n.port === port);
    const primaryPort = async (s: RedisProcess) =>
      Number(((await withRedisNode(s.port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME))) as string[])[1]);
    return {
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${MASTER_NAME}`,
      nodes,
      sentinels,
      async primary() {
        const node = byPort(await primaryPort(sentinels[0]!));
        if (!node) throw new Error('sentinels name an unknown primary');
        return node;
      },
      async failedOverFrom(old, timeoutMs = 30_000) {
        return until(
          'failover',
          async () => {
            const ports = await Promise.all(sentinels.map(primaryPort));
            if (!ports.every((p) => p === ports[0] && p !== old.port)) return undefined;
            const node = byPort(ports[0]!);
            // promoted means the node itself says so, not only the sentinels
            const role = node && (await withRedisNode(node.port, (c) => c.call('ROLE') as Promise<string[]>))[0];
            return role === 'master' ? node : undefined;
          },
          timeoutMs,
        );
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

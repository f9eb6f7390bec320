// A Redis Cluster on loopback: three masters (and optionally a replica each), each a real redis-server with
// its own temp dir, joined by `redis-cli --cluster create` and stopped by PID.
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';

export interface RedisClusterSet {
  /** redis+cluster://… naming every node */
  url: string;
  nodes: RedisProcess[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3, replicasPerMaster = 0): Promise<RedisClusterSet> {
  const nodes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
  };
  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      // nodes.conf is relative to --dir: each node keeps its own.
      nodes.push(await startRedis({ appendonly: true, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'] }));
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    // Every node must agree that all 16384 slots are served before a client may rely on the slot map.
    const deadline = Date.now() + 30_000;
    for (const n of nodes) {
      for (;;) {
        const c = new Redis({ port: n.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
        c.on('error', () => undefined);
        const info = await c.cluster('INFO').catch(() => '');
        c.disconnect();
        if (/cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info)) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${n.port} not ready: ${info}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`, nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// Helpers shared by the Redis failover tests: a one-off client to one node, and the grants on the jump server.
import { Redis } from 'ioredis';
import { blockLines } from './flow.ts';
import type { World } from './world.ts';

/** Runs `f` with a short-lived client to one Redis node (or sentinel) on loopback, which gives up at once. */
export async function withRedisNode<T>(port: number, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await f(c);
  } finally {
    c.disconnect();
  }
}

/** Grant ids on the jump server's managed block (the `jit:` comment of each line), sorted. */
export function grantsOnJumpServer(world: World): string[] {
  return blockLines(world)
    .flatMap((l) => /jit:([a-z0-9,]+)$/.exec(l)?.[1]?.split(',') ?? [])
    .sort();
}

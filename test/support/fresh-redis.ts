// A real redis-server for one test suite, emptied before each test: `db.redis` is a connection to it,
// `db.url` lets a test open more (separate connections really race on the server).
import { after, before, beforeEach } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';

export interface FreshRedis {
  readonly redis: Redis;
  readonly url: string;
}

export function useFreshRedis(): FreshRedis {
  let server: RedisProcess | undefined;
  let redis: Redis | undefined;
  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis!.flushall();
  });
  return {
    get redis() {
      return redis!;
    },
    get url() {
      return server!.url;
    },
  };
}

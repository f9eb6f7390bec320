// test-timeout: 20s
// Fixture for test/scripts/run-tests.test.ts (under support/, so `npm test` never runs it): a test file that
// starts a real redis-server, says where it is, then hangs and ignores SIGTERM, as a stuck test would.
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { startRedis } from '../../../src/sandbox/redis-process.ts';

it('hangs with a redis-server running', async () => {
  const redis = await startRedis();
  process.on('SIGTERM', () => console.log('hangs.test.ts: ignoring SIGTERM'));
  writeFileSync(process.env.JIT_FIXTURE_PIDS!, JSON.stringify({ test: process.pid, redis: redis.pid }));
  // Never settles; the timer keeps the process alive. A safety net ends it if the runner itself was killed.
  await new Promise(() => setTimeout(() => process.exit(3), 10 * 60_000));
});

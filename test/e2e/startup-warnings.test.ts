// Start-up warns about Redis settings that lose grants: AOF off (a restart forgets them), eviction on
// (Redis may delete them). A Redis set up as the README says gets no warning.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';
import { startWorld, type World } from '../support/world.ts';

const AOF_WARNING = /Redis has appendonly off/;
const EVICTION_WARNING = /maxmemory-policy is not noeviction/;

describe('Redis settings at start-up', () => {
  let risky: RedisProcess;
  const worlds: World[] = [];
  before(async () => {
    risky = await startRedis({ appendonly: false });
    const c = new Redis(risky.url);
    await c.config('SET', 'maxmemory-policy', 'allkeys-lru');
    c.disconnect();
  });
  after(async () => {
    for (const w of worlds) await w.stop();
    await risky?.stop();
  });

  it('warns when AOF is off and the eviction policy is not noeviction', async () => {
    const world = await startWorld({ redisUrl: risky.url, logLevel: 'info' });
    worlds.push(world);
    const warnings = world.logs.filter((l) => JSON.parse(l).level === 40).join('\n');
    assert.match(warnings, AOF_WARNING);
    assert.match(warnings, EVICTION_WARNING);
    assert.match(warnings, /"policy":"allkeys-lru"/);
  });

  it('says nothing when Redis has AOF on and noeviction', async () => {
    const world = await startWorld({ logLevel: 'info' });
    worlds.push(world);
    const all = world.logs.join('\n');
    assert.match(all, /jit-jump started/);
    assert.doesNotMatch(all, AOF_WARNING);
    assert.doesNotMatch(all, EVICTION_WARNING);
  });
});

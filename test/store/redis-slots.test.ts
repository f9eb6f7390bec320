// Redis Cluster runs a Lua script, MULTI or pipeline only when all its keys hash to one slot. Every key the
// broker builds, and every key BullMQ builds for the broker's queue, must therefore share one slot.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { QueueKeys } from 'bullmq';
import fc from 'fast-check';
import { QUEUE_NAME } from '../../src/scheduling/access-jobs.ts';
import { hashTagged, QUEUE_PREFIX, queuePrefix, redisKeys, type RedisKeys } from '../../src/store/redis-keys.ts';

// The CRC16 slot function ioredis itself routes cluster commands with.
const keySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

/** Every key the broker's keys module can build for these arguments. */
function allKeys(keys: RedisKeys, arg: string): string[] {
  return [keys.request(arg), keys.requestMessages(arg), keys.userRequests(arg), keys.activeGrants(arg), keys.userKey(arg), keys.keyOwner(arg), keys.auditStream];
}

function slotsOf(keys: string[]): Set<number> {
  return new Set(keys.map(keySlot));
}

describe('Redis Cluster hash slots', () => {
  it('puts every broker key in the slot of {jit}, whatever ids, users, hosts and fingerprints hold (braces too)', () => {
    const keys = redisKeys();
    const slot = keySlot('{jit}');
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: fc.constantFrom('{', '}', ':', 'a', 'Z', '0', '/', '+', '=') }), (a, b) => {
        for (const k of [...allKeys(keys, a), ...allKeys(keys, b)]) assert.equal(keySlot(k), slot, k);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the keys of each multi-key script, MULTI and pipeline in one slot', () => {
    const k = redisKeys();
    const groups: Record<string, string[]> = {
      // lua/transition.lua and approve.lua: request hash, audit stream, the indexes of the jump host and the store
      'transition/approve': [k.request('r1abc'), k.auditStream, k.activeGrants('bastion-eu'), k.endedGrants('bastion-eu'), k.pendingRequests, k.activating],
      // set-key.lua: user key, owner of the new fingerprint, audit stream, and the previous fingerprint's owner key
      // that the script deletes (built from ARGV in the script, so it must carry the same tag)
      'set-key': [k.userKey('U0ALICE'), k.keyOwner('SHA256:new/fp+x='), k.auditStream, `${k.keyOwner('')}SHA256:old/fp+y=`],
      // create-request.lua: and the requester's other requests, read by the pending cap (built from ARGV)
      'create-request': [k.request('r1abc'), k.userRequests('U0ALICE'), k.auditStream, k.pendingRequests, k.request('r0older')],
      'getMany (pipeline)': [k.request('r1'), k.request('r2'), k.request('r3')],
      'linesFor (pipeline)': [k.userKey('U1'), k.userKey('U2')],
    };
    for (const [name, keys] of Object.entries(groups)) assert.equal(slotsOf(keys).size, 1, name);
  });

  it('puts every key of the BullMQ queue in one slot (the {jit} tag in the prefix)', () => {
    const keys = Object.values(new QueueKeys(QUEUE_PREFIX).getKeys(QUEUE_NAME));
    assert.ok(keys.length > 10);
    // job hashes and their logs/locks too: <prefix>:<queue>:<job id>[:lock|:logs]
    const jobKeys = ['revoke-r1abc', 'warn-r1abc', 'timeout-r1abc'].flatMap((id) => {
      const base = new QueueKeys(QUEUE_PREFIX).toKey(QUEUE_NAME, id);
      return [base, `${base}:lock`, `${base}:logs`];
    });
    assert.deepEqual([...slotsOf([...keys, ...jobKeys])], [keySlot('{jit}')]);
  });

  it('gives a prefix without a hash tag one, so a custom prefix keeps Cluster working', () => {
    assert.equal(hashTagged('{jit}'), '{jit}');
    assert.equal(hashTagged('{jit-sandbox-7}'), '{jit-sandbox-7}');
    assert.equal(hashTagged('tenant-a:{jit}'), 'tenant-a:{jit}');
    assert.equal(hashTagged('tenant-a'), '{tenant-a}');
    assert.equal(hashTagged('{}x'), '{{}x}', 'an empty {} is no hash tag');
    assert.equal(queuePrefix(), '{jit}:bull');
    assert.equal(queuePrefix('t1:bull'), '{t1:bull}');
    for (const prefix of ['tenant-a', '{t}', 'a{b}c', '{}x']) {
      assert.equal(slotsOf(allKeys(redisKeys(prefix), 'x{y}z')).size, 1, prefix);
      assert.equal(slotsOf(Object.values(new QueueKeys(queuePrefix(prefix)).getKeys(QUEUE_NAME))).size, 1, prefix);
    }
  });
});

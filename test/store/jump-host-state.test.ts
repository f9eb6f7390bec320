// What the broker remembers of the lines it wrote, against a real redis-server: the hashes stay the ones earlier
// versions stored, and a pass that renders nothing new sends nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { JumpHostState, lineHash } from '../../src/store/jump-host-state.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

async function saddCalls(redis: { info(section: string): Promise<string> }): Promise<number> {
  const m = /cmdstat_sadd:calls=(\d+)/.exec(await redis.info('commandstats'));
  return Number(m?.[1] ?? 0);
}

describe('JumpHostState', () => {
  const db = useFreshRedis();

  it('hashes a line as SHA-256 in base64, as the hashes already stored in Redis were made', () => {
    for (const line of ['', 'restrict,port-forwarding,permitopen="10.0.0.5:22" ssh-ed25519 AAAA jit:r1', 'é\u0000ü'])
      assert.equal(lineHash(line), createHash('sha256').update(line).digest('base64'));
  });

  it('records only the lines not recorded yet: a sync pass that renders nothing new sends no SADD', async () => {
    const state = new JumpHostState(db.redis);
    await state.recordWritten('bastion', ['one', 'two']);
    const recorded = await state.writtenLineHashes('bastion');
    assert.deepEqual(recorded, new Set([lineHash('one'), lineHash('two')]));
    const before = await saddCalls(db.redis);
    await state.recordWritten('bastion', ['two', 'one'], recorded);
    assert.equal(await saddCalls(db.redis), before, 'nothing new: no write');
    await state.recordWritten('bastion', ['one', 'three'], recorded);
    assert.equal(await saddCalls(db.redis), before + 1);
    assert.deepEqual(await state.writtenLineHashes('bastion'), new Set(['one', 'two', 'three'].map(lineHash)));
  });
});

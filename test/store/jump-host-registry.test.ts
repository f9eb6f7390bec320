// The record of every jump server the broker wrote to, against a real redis-server, and the start-up verdict
// read from it (domain/retirement.ts): which stop the start, which are forgotten.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeRecordedJumpHosts, type JumpHostIdentity } from '../../src/domain/retirement.ts';
import type { JumpHostPolicy } from '../../src/domain/policy.ts';
import { JumpHostRegistry } from '../../src/store/jump-host-registry.ts';
import { JumpHostState } from '../../src/store/jump-host-state.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

const BASTION: JumpHostIdentity = { address: 'jump.internal', port: 22, user: 'jump', authorizedKeysPath: '.ssh/authorized_keys' };

function jumpHost(name: string, identity: JumpHostIdentity, retired = false): JumpHostPolicy {
  return { name, ...identity, hostKey: `SHA256:${'A'.repeat(43)}`, privateKeyPath: '/k', utcExpiryOnOldServers: false, retired, endSessions: false };
}

describe('JumpHostRegistry', () => {
  const db = useFreshRedis();

  it('records the identity written with, counts what stands on each server, and forgets once', async () => {
    const registry = new JumpHostRegistry(db.redis);
    assert.deepEqual(await registry.recorded(), []);
    await registry.record('bastion', BASTION);
    await registry.record('bastion', { ...BASTION, port: 2222 }); // the latest identity counts
    await registry.record('other', BASTION);
    await new JumpHostState(db.redis).recordWritten('bastion', ['line one', 'line two']);
    await db.redis.zadd(registry.keys.activeGrants('bastion'), Date.now() + 60_000, 'rgrant1');
    await db.redis.zadd(registry.keys.endedGrants('other'), Date.now(), 'rgrant2');
    assert.deepEqual(await registry.recorded(), [
      { name: 'bastion', identity: { ...BASTION, port: 2222 }, lines: 2, activeGrants: 1, endedGrants: 0 },
      { name: 'other', identity: BASTION, lines: 0, activeGrants: 0, endedGrants: 1 },
    ]);
    assert.equal(await registry.forget('bastion'), true);
    assert.equal(await registry.forget('bastion'), false, 'one caller (one log line) across replicas');
    assert.deepEqual((await registry.recorded()).map((r) => r.name), ['other']);
  });

  it('keeps records apart by key prefix', async () => {
    await new JumpHostRegistry(db.redis, '{a}').record('bastion', BASTION);
    assert.deepEqual(await new JumpHostRegistry(db.redis, '{b}').recorded(), []);
  });
});

describe('start-up verdict on recorded jump servers', () => {
  const held = { lines: 1, activeGrants: 1, endedGrants: 0 };
  const none = { lines: 0, activeGrants: 0, endedGrants: 0 };

  it('stops the start for a server missing from the policy that holds lines, naming it and the way out', () => {
    const v = judgeRecordedJumpHosts({ jumpHosts: [jumpHost('new', BASTION)] }, [{ name: 'bastion', identity: BASTION, ...held }]);
    assert.equal(v.stop.length, 1);
    assert.match(v.stop[0]!, /jump server "bastion" is missing from the policy/);
    assert.match(v.stop[0]!, /Put it back with `retired: true`/);
    assert.deepEqual(v.forget, []);
  });

  for (const [field, value] of [['address', 'jump2.internal'], ['port', 2222], ['user', 'other'], ['authorizedKeysPath', '/etc/keys']] as const)
    it(`stops the start for a server whose ${field} changed while it holds grants`, () => {
      const v = judgeRecordedJumpHosts({ jumpHosts: [jumpHost('bastion', { ...BASTION, [field]: value })] }, [{ name: 'bastion', identity: BASTION, ...none, activeGrants: 1 }]);
      assert.equal(v.stop.length, 1);
      assert.match(v.stop[0]!, new RegExp(`jump server "bastion" changed ${field} \\(was ${JSON.stringify(BASTION[field])}\\)`));
      assert.match(v.stop[0]!, /Keep the old entry unchanged with `retired: true` and add the new one under a new name/);
    });

  it('counts lines whose grant ended but whose line no sync has taken out yet', () => {
    const v = judgeRecordedJumpHosts({ jumpHosts: [jumpHost('new', BASTION)] }, [{ name: 'bastion', identity: BASTION, ...none, endedGrants: 1 }]);
    assert.equal(v.stop.length, 1);
  });

  it('forgets a server that left or changed but holds nothing; leaves an unchanged one (retired or not) alone', () => {
    const v = judgeRecordedJumpHosts({ jumpHosts: [jumpHost('moved', { ...BASTION, port: 2200 }), jumpHost('same', BASTION, true)] }, [
      { name: 'gone', identity: BASTION, ...none },
      { name: 'moved', identity: BASTION, ...none },
      { name: 'same', identity: BASTION, ...held },
    ]);
    assert.deepEqual(v.stop, []);
    assert.deepEqual(v.forget.map((f) => f.name), ['gone', 'moved']);
    assert.match(v.forget[1]!.why, /port changed/);
  });
});

// The broker on a real Redis Cluster (three masters): REDIS_URL=redis+cluster://…. Every Lua script, MULTI and
// pipeline of the broker and of BullMQ runs there only if its keys share a slot (else CROSSSLOT): a whole
// grant lifecycle, a key replacement and the audit trail prove they do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { AUDIT_CHANNEL } from '../../src/sandbox/environment.ts';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { auditTypes, blockLines, click, requestAccess, until } from '../support/flow.ts';
import { startRedisCluster, type RedisClusterSet } from '../support/redis-cluster.ts';
import { sshHop } from '../support/ssh-client.ts';
import { ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';

describe('Redis Cluster', () => {
  let cluster: RedisClusterSet;
  let world: World;
  before(async () => {
    cluster = await startRedisCluster(3);
    world = await startWorld({ redisUrl: cluster.url });
  });
  after(async () => {
    await world?.stop();
    await cluster?.stop();
  });

  it('runs a whole grant lifecycle, a key replacement and the audit trail on three masters', async () => {
    const res = await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
    assert.match(res.json.text, /Key registered/);

    const id = await requestAccess(world, ENGINEER, 'request internal-1 6s on a cluster');
    await click(world, id, OWNER);
    const line = await until('key line', () => blockLines(world).find((l) => l.endsWith(`jit:${id}`)));
    const hop = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.code, 0, hop.stderr);

    // SET_KEY deletes the previous key's owner entry (a key it builds inside the script): legal on a cluster only
    // because it carries the same hash tag.
    const fresh = generateUserKey(world.dir, 'engineer_cluster');
    const replaced = await world.sender.command(ENGINEER, `key add ${fresh.publicKey}`);
    assert.match(replaced.json.text, /Key replaced/);
    await until('re-rendered with the new key', () => blockLines(world).find((l) => l.endsWith(`jit:${id}`) && l !== line && l.includes(fresh.publicKey.split(' ')[1]!)));

    // The revoke job (BullMQ, delayed) runs and the line leaves.
    await until('expired', async () => (await world.broker.requests.get(id))?.state === 'expired', 30_000, 100);
    await until('line removed', () => blockLines(world).length === 0 || undefined, 30_000);
    await until('audit trail', () => ['requested', 'approved', 'activated', 'key-replaced', 'expired'].every((t) => auditTypes(world).includes(t)) || undefined, 30_000);
    assert.equal(auditTypes(world).filter((t) => t === 'activated').length, 1);
    assert.ok(world.slack.calls.some((c) => c.args.channel === AUDIT_CHANNEL));

    // The keys really are spread over a cluster: they sit on one master, which is one of three.
    const client = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]);
    try {
      const slot = await client.cluster('KEYSLOT', world.broker.requests.keys.request(id));
      const shards = await client.cluster('SLOTS');
      assert.equal(shards.length, 3);
      const owner = shards.find(([from, to]) => slot >= from && slot <= to);
      assert.ok(owner, `slot ${slot} is served`);
      assert.equal(await client.exists(world.broker.requests.keys.request(id)), 1);
    } finally {
      client.disconnect();
    }
  });
});

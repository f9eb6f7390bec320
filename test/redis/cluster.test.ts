// The broker on a real Redis Cluster (three masters, a replica each): REDIS_URL=redis+cluster://…. Every Lua
// script, MULTI and pipeline of the broker and of BullMQ runs there only if its keys share a slot (else
// CROSSSLOT): a whole grant lifecycle, a key replacement and the audit trail prove they do. Then the master
// holding that slot is killed and its replica takes over.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { AUDIT_CHANNEL } from '../../src/sandbox/environment.ts';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { auditTypes, blockLines, click, requestAccess, runJobNow, until } from '../support/flow.ts';
import { grantsOnJumpServer, withRedisNode as withNode } from '../support/failover.ts';
import { startRedisCluster, type RedisClusterSet } from '../support/redis-cluster.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';

describe('Redis Cluster', () => {
  let cluster: RedisClusterSet;
  let world: World;
  before(async () => {
    cluster = await startRedisCluster(3, 1);
    world = await startWorld({ redisUrl: cluster.url });
  });
  after(async () => {
    await world?.stop();
    await cluster?.stop();
  });

  it('runs grant lifecycles, a key replacement that ends a grant and the audit trail on three masters', async () => {
    const res = await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
    assert.match(res.json.text, /Key registered/);

    // Minutes: the hop and the key replacement below need the grant active on a loaded machine too.
    const id = await requestAccess(world, ENGINEER, 'request internal-1 10m on a cluster');
    await click(world, id, OWNER);
    const line = await until('key line', () => blockLines(world).find((l) => l.endsWith(`jit:${id}`)));
    const hop = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));

    // set-key.lua deletes the previous key's owner entry (a key it builds inside the script): legal on a cluster only
    // because it carries the same hash tag.
    const fresh = generateUserKey(world.dir, 'engineer_cluster');
    const replaced = await world.sender.command(ENGINEER, `key add ${fresh.publicKey}`);
    assert.match(replaced.json.text, /Key replaced/);
    // A grant is bound to the approved key: the replacement ends it (revoked, "key changed") and its line leaves.
    await until('ended by the key change', async () => (await world.broker.requests.get(id))?.state === 'revoked', 30_000, 100);
    await until('old line removed', () => !blockLines(world).includes(line) || undefined, 30_000);

    // With the new key: a second grant, whose revoke job (BullMQ, delayed, its keys on the cluster) is run now by the
    // broker's worker; the line leaves. (A delayed job firing by the clock on a cluster: the failover test below.)
    const second = await requestAccess(world, ENGINEER, 'request internal-1 10m with the new key');
    await click(world, second, OWNER);
    await until('new key line', () => blockLines(world).find((l) => l.endsWith(`jit:${second}`) && l.includes(fresh.publicKey.split(' ')[1]!)));
    await runJobNow(world, 'revoke', second);
    await until('expired', async () => (await world.broker.requests.get(second))?.state === 'expired', 30_000, 100);
    await until('line removed', () => blockLines(world).length === 0 || undefined, 30_000);
    await until('audit trail', () => ['requested', 'approved', 'activated', 'key-replaced', 'revoked', 'expired'].every((t) => auditTypes(world).includes(t)) || undefined, 30_000);
    assert.equal(auditTypes(world).filter((t) => t === 'activated').length, 2);
    assert.ok(world.slack.calls.some((c) => c.args.channel === AUDIT_CHANNEL));

    // The keys really are spread over a cluster: they sit on one master, which is one of three.
    const client = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]);
    try {
      const slot = await client.cluster('KEYSLOT', world.broker.requests.keys.request(id));
      const shards = await client.cluster('SLOTS');
      assert.equal(new Set(shards.map((s) => s[2]?.[1])).size, 3, 'three masters serve the slots');
      const owner = shards.find(([from, to]) => slot >= from && slot <= to);
      assert.ok(owner, `slot ${slot} is served`);
      assert.equal(await client.exists(world.broker.requests.keys.request(id)), 1);
    } finally {
      client.disconnect();
    }
  });

  it('carries on when the master holding the broker\'s slot is killed and its replica takes over', async () => {
    const pending = await requestAccess(world, ENGINEER, 'request internal-1 30s pending on a cluster');
    const long = await requestAccess(world, ENGINEER, 'request internal-2 1h stays active on a cluster');
    await click(world, long, OWNER);
    await until('long grant', () => grantsOnJumpServer(world).includes(long));
    const soon = await requestAccess(world, ENGINEER, 'request internal-1 12s ends after the failover');
    await click(world, soon, OWNER);
    await until('short grant', () => grantsOnJumpServer(world).includes(soon));

    const slot = await withCluster((c) => c.cluster('KEYSLOT', world.broker.requests.keys.auditStream));
    // The slot's replica appears in CLUSTER SLOTS only once the nodes have gossiped about it: wait for it.
    const [master, replica] = await until('the slot has a master and a replica', () =>
      withCluster(async (c) => {
        const range = (await c.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
        return range?.[2] && range[3] ? ([range[2][1], range[3][1]] as const) : undefined;
      }),
      60_000,
      200,
    );
    // No WAIT on a Cluster (see README): let the replica catch up, so that this test is about the failover and
    // not about asynchronous replication's loss window.
    await until('replica caught up', async () => {
      const info = await withNode(master, (c) => c.info('replication'));
      const offset = /master_repl_offset:(\d+)/.exec(info)?.[1];
      return (offset !== undefined && new RegExp(`port=${replica},state=online,offset=${offset},`).test(info)) || undefined;
    });
    const killedAt = Date.now();
    await cluster.nodes.find((n) => n.port === master)!.kill9();
    await until(
      'replica promoted',
      () => withNode(replica, async (c) => ((await c.call('ROLE')) as string[])[0] === 'master' && /cluster_state:ok/.test(await c.cluster('INFO')) || undefined).catch(() => undefined),
      60_000,
      100,
    );
    const promotedAt = Date.now();
    await until('broker reads again', async () => (await world.broker.requests.get(pending).catch(() => undefined))?.state === 'pending', 60_000, 200);
    const readingAt = Date.now();
    assert.deepEqual(await Promise.all([long, soon].map(async (id) => (await world.broker.requests.get(id))?.state)), ['active', 'active']);

    await click(world, pending, OWNER);
    await until('pending grant activated', () => grantsOnJumpServer(world).includes(pending), 30_000);
    await until('short grant expired and gone', async () => ((await world.broker.requests.get(soon))?.state === 'expired' && !grantsOnJumpServer(world).includes(soon)) || undefined, 60_000, 100);
    const fresh = await requestAccess(world, ENGINEER, 'request internal-2 1h after the cluster failover');
    await click(world, fresh, OWNER);
    await until('fresh grant', () => grantsOnJumpServer(world).includes(fresh), 30_000);
    const active = (await world.broker.requests.activeGrantIds('bastion', Date.now())).sort();
    assert.deepEqual(active, [long, pending, fresh].sort());
    await until('block equals the active grants', () => JSON.stringify(grantsOnJumpServer(world)) === JSON.stringify(active) || undefined, 30_000);
    console.log(`cluster failover: kill -9 of the slot's master → replica promoted ${promotedAt - killedAt} ms, → broker reading ${readingAt - killedAt} ms`);
  });

  function withCluster<T>(f: (c: Cluster) => Promise<T>): Promise<T> {
    const c = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
    c.on('error', () => undefined);
    return f(c).finally(() => c.disconnect());
  }
});

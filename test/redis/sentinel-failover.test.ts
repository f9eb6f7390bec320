// Sentinel failover with real processes: a primary, a replica and three sentinels (quorum 2); the broker
// connects through REDIS_URL=redis+sentinel://…. With grants pending and active, the primary is killed
// (SIGKILL); the sentinels promote the replica, and no grant is lost or left behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { grantsOnJumpServer, withRedisNode as withNode } from '../support/failover.ts';
import { auditTypes, click, requestAccess, until } from '../support/flow.ts';
import { MASTER_NAME, startSentinelSet, type SentinelSet } from '../support/redis-sentinel.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';

async function state(world: World, id: string): Promise<string | undefined> {
  return (await world.broker.requests.get(id))?.state;
}

function activationsAudited(world: World, id: string): number {
  return auditTypes(world, id).filter((t) => t === 'activated').length;
}

describe('Redis Sentinel failover', () => {
  let set: SentinelSet;
  let world: World;
  before(async () => {
    set = await startSentinelSet({ replicas: 1, downAfterMs: 1000, failoverTimeoutMs: 5000 });
    world = await startWorld({ redisUrl: set.url, maxDuration: '1h' });
    const res = await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
    assert.match(res.json.text, /Key registered/);
  });
  after(async () => {
    await world?.stop();
    await set?.stop();
  });

  it('loses no grant and leaves none behind when the primary is killed and the replica promoted', async () => {
    try {
      await failover();
    } catch (err) {
      // what the broker saw, for whoever reads a failure
      process.stderr.write(world.logs.filter((l) => Number(JSON.parse(l).level) >= 40).join(''));
      throw err;
    }
  });

  it('follows a planned failover (SENTINEL FAILOVER): writes refused by the demoted primary go to the new one', async () => {
    const before = await set.primary();
    await withNode(set.sentinels[0]!.port, (c) => c.call('SENTINEL', 'FAILOVER', MASTER_NAME));
    const after = await set.failedOverFrom(before);
    // The broker's connections to the demoted node stay open; its first write there meets READONLY. Straight
    // away, with no pause: a request is accepted, or refused with "nothing was changed" and then accepted.
    const reason = `planned failover ${Date.now()}`;
    let replies = 0;
    const id = await until(
      'request accepted',
      async () => {
        replies++;
        const res = await world.sender.command(ENGINEER, `request internal-1 1h ${reason}`);
        const accepted = /Request `(r[a-z0-9]+)`/.exec(res.json?.text ?? '')?.[1];
        if (!accepted) assert.match(res.json?.text ?? '', /nothing was changed/);
        return accepted;
      },
      30_000,
      200,
    );
    const created = (await world.broker.requests.recentForUser(ENGINEER, 50)).filter((r) => r.reason === reason);
    assert.deepEqual(created.map((r) => r.id), [id], `one request, after ${replies} replies`);
    await click(world, id, OWNER);
    await until('grant on the jump server', () => grantsOnJumpServer(world).includes(id), 30_000);
    const active = (await world.broker.requests.activeGrantIds('bastion', Date.now())).sort();
    assert.ok(active.includes(id));
    await until('block equals the active grants', () => JSON.stringify(grantsOnJumpServer(world)) === JSON.stringify(active) || undefined, 30_000);
    assert.equal((await set.primary()).port, after.port);
    console.log(`planned failover: request accepted after ${replies} ${replies === 1 ? 'try' : 'tries'}`);
  });

  async function failover(): Promise<void> {
    assert.equal((await set.primary()).port, set.nodes[0]!.port);

    // Before: two pending requests, one grant that ends soon after the failover, one that outlives the test.
    const pending1 = await requestAccess(world, ENGINEER, 'request internal-1 30s pending through the failover');
    const pending2 = await requestAccess(world, ENGINEER, 'request internal-2 30s also pending');
    const long = await requestAccess(world, ENGINEER, 'request internal-2 1h stays active');
    await click(world, long, OWNER);
    await until('long grant on the jump server', () => grantsOnJumpServer(world).includes(long));
    const soon = await requestAccess(world, ENGINEER, 'request internal-1 12s ends after the failover');
    await click(world, soon, OWNER);
    // The line is written after the APPROVE script returned, and the broker WAITs for the replica after each
    // script: so from here on the activation is on the replica too. Kill at once, no grace period.
    await until('short grant on the jump server', () => grantsOnJumpServer(world).includes(soon));
    const soonExpiresAt = (await world.broker.requests.get(soon))!.expiresAt!;

    const old = await set.primary();
    const killedAt = Date.now();
    await old.kill9();
    const promoted = await set.failedOverFrom(old);
    const promotedAt = Date.now();
    assert.equal(promoted.port, set.nodes[1]!.port, 'the replica is the new primary');
    // The old primary comes back at once, as an operator would bring it back; the sentinels will make it a
    // replica of the new one (they wait 8 s or more before they do), while the broker carries on.
    await old.restart();

    // The broker finds the new primary through the sentinels; every request is where it was.
    await until('broker reads through the new primary', async () => (await state(world, pending1).catch(() => undefined)) === 'pending', 30_000, 200);
    const readingAt = Date.now();
    assert.deepEqual(
      await Promise.all([pending1, pending2, long, soon].map((id) => state(world, id))),
      ['pending', 'pending', 'active', 'active'],
    );
    assert.deepEqual(grantsOnJumpServer(world), [long, soon].sort());

    // Pending requests can still be approved and activate; access is real (an ssh hop through the jump server).
    await click(world, pending1, OWNER);
    await until('pending1 active on the jump server', () => grantsOnJumpServer(world).includes(pending1), 30_000);
    assert.equal(await state(world, pending1), 'active');
    const hop = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    await click(world, pending2, OWNER);
    await until('pending2 active on the jump server', () => grantsOnJumpServer(world).includes(pending2), 30_000);

    // The revoke job scheduled on the old primary runs on the new one: the short grant ends and leaves.
    await until('short grant expired', async () => (await state(world, soon)) === 'expired', 60_000, 100);
    await until('short grant off the jump server', () => !grantsOnJumpServer(world).includes(soon) || undefined, 30_000);
    assert.ok(Date.now() >= soonExpiresAt);

    // A new request after the failover works end to end.
    const fresh = await requestAccess(world, ENGINEER, 'request internal-1 1h after the failover');
    await click(world, fresh, OWNER);
    await until('fresh grant on the jump server', () => grantsOnJumpServer(world).includes(fresh), 30_000);

    // The managed block is exactly the active grants in the store; each grant was activated once.
    const now = Date.now();
    const active = (await world.broker.requests.activeGrantIds('bastion', now)).sort();
    assert.deepEqual(active, [long, pending1, pending2, fresh].sort());
    await until('block equals the active grants', () => JSON.stringify(grantsOnJumpServer(world)) === JSON.stringify(active) || undefined, 30_000);
    await until('activation audits', () => [long, soon, pending1, pending2, fresh].every((id) => activationsAudited(world, id) >= 1) || undefined, 30_000);
    for (const id of [long, soon, pending1, pending2, fresh]) assert.equal(activationsAudited(world, id), 1, `one activation audit for ${id}`);

    // The broker asked the new primary to WAIT for a replica after its state changes.
    const waits = await withNode(promoted.port, async (c) => Number(/cmdstat_wait:calls=(\d+)/.exec(await c.info('commandstats'))?.[1] ?? 0));
    assert.ok(waits >= 3, `WAIT calls on the new primary: ${waits}`);
    const checkedAt = Date.now();

    // The old primary is back as a replica of the new one (the sentinels reconfigured it): no split brain.
    await until(
      'old primary demoted to replica',
      () =>
        withNode(old.port, async (c) => {
          const role = (await c.call('ROLE')) as [string, string, number, string];
          return (role[0] === 'slave' && role[2] === promoted.port && role[3] === 'connected') || undefined;
        }).catch(() => undefined),
      60_000,
      250,
    );
    assert.equal((await set.primary()).port, promoted.port, `sentinels still name ${MASTER_NAME} on the promoted node`);
    // With a replica again, an early revocation is acknowledged by it before the broker reports it.
    const unacknowledged = () => world.logs.filter((l) => l.includes('did not acknowledge a state change')).length;
    const warningsBefore = unacknowledged();
    const revoke = await world.sender.command(ENGINEER, `revoke ${long}`);
    assert.match(revoke.json.text, /revoked/);
    await until('revoked grant off the jump server', () => !grantsOnJumpServer(world).includes(long) || undefined, 30_000);
    assert.equal(unacknowledged(), warningsBefore, 'the revocation was acknowledged by the replica');
    console.log(
      `sentinel failover: kill -9 → replica promoted ${promotedAt - killedAt} ms, → broker reading ${readingAt - killedAt} ms; ` +
        `after it: 5 grants checked in ${checkedAt - readingAt} ms, then old primary back as replica after ${Date.now() - checkedAt} ms more`,
    );
  }
});

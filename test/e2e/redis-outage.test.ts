// Redis stopped under a running broker: Slack gets a clear "try again" at once instead of a hang, nothing is
// half-done, and the broker recovers by itself when Redis is back (no restart).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { approvalMessage, blockLines, requestAccess, sleep, until } from '../support/flow.ts';
import { ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';
import { probe } from '../support/health.ts';

const base = (world: World) => `http://127.0.0.1:${world.broker.port}`;
/** /healthz says the process answers (always 200 here); /readyz names what is not ready. */
const readyz = async (world: World) => {
  assert.equal((await probe(base(world), '/healthz')).status, 200, '/healthz answers while the process does');
  return probe(base(world), '/readyz');
};

const TRY_AGAIN = /could not reach its database just now; nothing was changed\. Please try again/;

describe('Redis outage', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    await world?.stop();
  });

  it('answers "try again" at once while Redis is down, and works again by itself when it is back', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-1 20s before the outage');
    const msg = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    const approve = findButton(msg.blocks, 'jit_approve');
    // The jump server is reported once the start-up sync has finished.
    const fine = await until('/readyz with the jump server synced', async () => {
      const r = await readyz(world);
      return r.body.info['jumpHost:bastion'] === 'up' ? r : undefined;
    });
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
    assert.deepEqual(fine.body.checks, { redis: 'ok', workers: 'ok', reconcile: 'ok', slack: 'ok' });
    await sleep(1200); // appendfsync everysec: let the request reach the disk before the hard stop
    await world.redis!.kill9();
    // A load balancer or orchestrator takes the replica out while it cannot reach Redis.
    const logsBefore = world.logs.length;
    const down = await readyz(world);
    assert.equal(down.status, 503);
    assert.equal(down.body.ready, false);
    assert.notEqual(down.body.checks.redis, 'ok', JSON.stringify(down.body));

    const started = performance.now();
    const res = await world.sender.command(ENGINEER, 'list');
    const ms = performance.now() - started;
    console.log(`reply to /jump list with Redis down: ${ms.toFixed(0)} ms`);
    assert.equal(res.status, 200);
    assert.equal(res.json.response_type, 'ephemeral');
    assert.match(res.json.text, TRY_AGAIN);
    assert.match((await world.sender.command(ENGINEER, 'request internal-2 5s during the outage')).json.text, TRY_AGAIN);

    // A click on Approve: acked, then the owner is told to try again; nothing changed.
    const before = world.slack.calls.length;
    await world.sender.blockAction(OWNER, { ...approve, message: { channel: msg.channel, ts: msg.ts } });
    const eph = await until('ephemeral', () => world.slack.calls.slice(before).find((c) => c.method === 'chat.postEphemeral' && c.args.user === OWNER));
    assert.match(eph.args.text, TRY_AGAIN);
    assert.equal(blockLines(world).length, 0);

    // Let the reconnects fail for a while (the broker retries every few hundred ms): still one line, not one per try.
    await until('Redis reported unreachable', () => world.logs.slice(logsBefore).some((l) => /Redis unreachable at/.test(l)) || undefined);
    await sleep(3000);
    const outageLines = world.logs.slice(logsBefore).filter((l) => JSON.parse(l).level >= 40);
    console.log(`warn/error lines in the outage's first seconds: ${outageLines.length}\n${outageLines.map((l) => JSON.parse(l).msg).join('\n')}`);
    assert.equal(outageLines.filter((l) => /Redis unreachable at/.test(l)).length, 1, 'one line says Redis is away and what is retried');
    await world.redis!.restart();
    await until('/readyz 200 again', async () => (await readyz(world)).status === 200, 30_000, 100);
    await until('Redis reported back', () => world.logs.slice(logsBefore).some((l) => /Redis answers again/.test(l)) || undefined);
    await until('commands answered again', async () => /`r[a-z0-9]+` \*internal-1\* .*waiting for approval/.test((await world.sender.command(ENGINEER, 'list')).json?.text ?? ''), 30_000, 200);
    // The same click now activates: the request survived the outage, the broker reconnected on its own.
    await world.sender.blockAction(OWNER, { ...approve, message: { channel: msg.channel, ts: msg.ts } });
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    assert.equal((await world.broker.requests.get(id))?.state, 'active');

    // A silent Redis (stopped, connections open): /readyz answers 503 on the check deadline, not never.
    process.kill(world.redis!.pid, 'SIGSTOP');
    try {
      const silent = await readyz(world);
      assert.equal(silent.status, 503);
      assert.notEqual(silent.body.checks.redis, 'ok');
    } finally {
      process.kill(world.redis!.pid, 'SIGCONT');
    }
    await until('/readyz 200 after the pause', async () => (await readyz(world)).status === 200, 30_000, 100);
  });
});

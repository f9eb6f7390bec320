// Through Sentinel, every state change (a Lua script defined with defineCommand, see src/store/scripts.ts) is
// followed by one WAIT for the replica, so what the broker reports next is on the replica too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { KeyStore } from '../../src/store/key-store.ts';
import { createRedisClient, parseRedisUrl } from '../../src/store/redis-connection.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import { withRedisNode } from '../support/failover.ts';
import { startSentinelSet, type SentinelSet } from '../support/redis-sentinel.ts';
import { asRequested } from '../support/approval-rules.ts';

const NOW = 1_800_000_000_000;
const KEY = { line: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', fingerprint: 'SHA256:wait-test', type: 'ssh-ed25519', bits: 256 };

async function waitCalls(port: number): Promise<number> {
  return withRedisNode(port, async (c) => Number(/cmdstat_wait:calls=(\d+)/.exec(await c.info('commandstats'))?.[1] ?? 0));
}

describe('Sentinel: WAIT after each state change', () => {
  let set: SentinelSet;
  let client: Redis;
  const short: number[] = [];
  before(async () => {
    // No failover is wanted here: with the usual 1 s down-after, a primary slow to answer PING on a busy
    // machine is failed over mid-test, and the WAITs land on a node the test no longer reads.
    set = await startSentinelSet({ replicas: 1, downAfterMs: 60_000 });
    // A generous WAIT deadline: WAIT returns as soon as the replica has it, so this costs nothing when it does.
    client = createRedisClient(parseRedisUrl(`${set.url}?waitTimeout=30000`), 'commands', { onUnreplicated: (acked) => short.push(acked) }) as Redis;
    client.on('error', () => undefined);
    // commands fail fast while not connected: wait until the sentinels have named the primary
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  });
  after(async () => {
    client?.disconnect();
    await set?.stop();
  });

  it('sends one WAIT per script, and the replica holds each change when the call returns', async () => {
    const requests = new RequestStore(client);
    const keys = new KeyStore(client);
    const primary = await set.primary();
    const replica = set.nodes.find((n) => n.port !== primary.port)!;
    const req: AccessRequest = { id: 'rwait1', requester: 'UREQ', host: 'db', jumpHost: 'bastion', durationMs: 3_600_000, reason: 'r', state: 'pending', createdAt: NOW, requiredApprovals: 1, approvers: [] };
    const onReplica = (field: string) => withRedisNode(replica.port, (c) => c.hget(requests.keys.request(req.id), field));

    const before = await waitCalls(primary.port);
    await requests.create(req, { type: 'requested', at: NOW, requestId: req.id });
    assert.equal(await onReplica('state'), 'pending');
    assert.deepEqual(await requests.approve(req, 'UOWNER', NOW, asRequested(req)), { ok: true, value: { activated: true, expiresAt: NOW + 3_600_000 } });
    assert.equal(await onReplica('state'), 'active');
    assert.deepEqual(await requests.transition(req, 'revoked', { type: 'revoked', at: NOW }, { endedAt: NOW }), { ok: true, value: { from: 'active' } });
    assert.equal(await onReplica('state'), 'revoked');
    assert.deepEqual(await keys.set('UREQ', KEY, NOW), { ok: true, value: { replaced: false } });
    await requests.appendAudit({ type: 'refused', at: NOW });

    assert.equal((await waitCalls(primary.port)) - before, 5, 'create, approve, transition, set-key, append-audit');
    assert.deepEqual(short, [], 'the replica acknowledged every change');
  });
});

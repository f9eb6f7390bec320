// Two replicas syncing one jump server: the Redis lock around render + write makes them take turns, a dead
// holder blocks the other for one lease at most, and the block always ends as the rendering of the latest state.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createSyncParts } from '../../src/broker.ts';
import { validatePolicy, type Policy } from '../../src/config/policy.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { BLOCK_BEGIN, BLOCK_END } from '../../src/domain/managed-block.ts';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';
import { RedisLock } from '../../src/store/redis-lock.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sync across replicas', () => {
  let server: RedisProcess;
  let jump: SshdProcess;
  let dir: string;
  let policy: Policy;
  const clients: Redis[] = [];
  const client = () => {
    const c = new Redis(server.url);
    clients.push(c);
    return c;
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-sync-lock-'));
    server = await startRedis();
    const brokerKey = generateUserKey(dir, 'broker');
    jump = await startSshd({ name: 'lock-jump', role: 'jump', authorizedKeysContent: `restrict ${brokerKey.publicKey}\n` });
    policy = validatePolicy({
      auditChannel: 'C0AUDIT',
      jumpHosts: [{ name: 'bastion', address: '127.0.0.1', port: jump.port, user: jump.user, hostKey: jump.hostKeyFingerprint, privateKeyPath: brokerKey.privateKeyPath, authorizedKeysPath: jump.authorizedKeysPath }],
      hosts: [{ name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0OWNER'] }],
    });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await jump?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes turns, keeps a held lease alive, and waits at most one lease for a dead holder', async () => {
    const lock = new RedisLock(client(), { leaseMs: 300, waitMs: 5000 });
    const order: string[] = [];
    const a = lock.with('{jit}:test-lock', async (lease) => {
      order.push('a-in');
      await sleep(900); // three leases: renewal must keep it
      lease.check();
      order.push('a-out');
    });
    await sleep(50);
    const b = lock.with('{jit}:test-lock', async () => {
      order.push('b-in');
    });
    await Promise.all([a, b]);
    assert.deepEqual(order, ['a-in', 'a-out', 'b-in']);
    // A holder that died (its lease set, nobody renewing it) holds the others up for one lease only.
    await client().set('{jit}:test-lock', 'dead-holder', 'PX', 300);
    const started = Date.now();
    assert.equal(await lock.tryWith('{jit}:test-lock', async () => 'ran'), undefined, 'taken: tryWith does not wait');
    await lock.with('{jit}:test-lock', async () => undefined);
    console.log(`waited for a dead holder's lease (300 ms): ${Date.now() - started} ms`);
  });

  it('never leaves an older rendering on the server when two replicas sync one jump server at once', async () => {
    const logger = pino({ level: 'silent' });
    const replicas = [0, 1].map(() => createSyncParts({ redis: client(), policy, clock: systemClock, logger }));
    const { requests, keys } = replicas[0]!;
    const rounds = 25;
    const ids: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const user = `U0RACE${i}`;
      const key = checkUserPublicKey(generateUserKey(dir, `race${i}`).publicKey, { minRsaBits: 3072 });
      assert.ok(key.ok);
      await keys.set(user, key.value, Date.now());
      const id = `rrace${i}`;
      ids.push(id);
      await requests.create({ id, requester: user, host: 'db', jumpHost: 'bastion', durationMs: 600_000, reason: 'race', state: 'pending', createdAt: Date.now(), requiredApprovals: 1, approvers: [] }, { type: 'requested', at: Date.now(), requestId: id });
      await requests.approve((await requests.get(id))!, 'U0OWNER', Date.now());
      // Every other round a grant ends too, so lines come and go.
      if (i % 2 === 1) await requests.transition({ id: ids[i - 1]!, jumpHost: 'bastion' }, 'revoked', { type: 'revoked', at: Date.now(), requestId: ids[i - 1] }, { endedAt: Date.now() });
      // Both replicas sync at once, each after a random head start.
      void replicas[0]!.sync.sync('bastion').catch(() => undefined);
      await sleep(Math.random() * 5);
      void replicas[1]!.sync.sync('bastion').catch(() => undefined);
    }
    // What each replica wrote last must be the latest state: a sync that started after the last change on each.
    await Promise.all(replicas.map((r) => r.sync.sync('bastion')));
    const text = jump.readAuthorizedKeys().split('\n');
    const block = text.slice(text.indexOf(BLOCK_BEGIN) + 1, text.indexOf(BLOCK_END));
    const onServer = block.map((l) => /jit:(\S+)$/.exec(l)![1]!).sort();
    const active = (await requests.activeGrantIds('bastion', Date.now())).sort();
    assert.deepEqual(onServer, active);
    assert.equal(active.length, Math.ceil(rounds / 2));
    await Promise.all(replicas.map(async (r) => {
      await r.sync.stop();
      await r.connections.close();
    }));
  });
});

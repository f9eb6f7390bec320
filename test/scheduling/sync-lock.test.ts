// Two replicas syncing one jump server: the Redis lock around render + write makes them take turns, a dead
// holder's lock is free again once its lease runs out, and the server never holds a rendering older than one
// already written there, however the replicas' syncs interleave with changes to the store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createSyncParts } from '../../src/broker.ts';
import { validatePolicy, type Policy } from '../../src/config/policy.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { parseAuthorizedKeys } from '../../src/domain/managed-block.ts';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';
import type { PipelinedRead } from '../../src/store/pipelined-read.ts';
import { RedisLock } from '../../src/store/redis-lock.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';
import { asRequested } from '../support/approval-rules.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Grant ids are `rrace<step>`: a rendering's version is the newest step whose grant it holds (-1: none). */
function versionOf(file: string): number {
  const ids = (parseAuthorizedKeys(file).block ?? []).flatMap((l) => /jit:(\S+)$/.exec(l)?.[1]?.split(',') ?? []);
  return Math.max(-1, ...ids.map((id) => Number(/^rrace(\d+)$/.exec(id)?.[1] ?? Number.NaN)));
}

/** Resolves once `probe` holds; `check` is called after every event that may change it. */
function waiter(probe: () => boolean): { promise: Promise<void>; check(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const check = () => {
    if (probe()) resolve();
  };
  return { promise, check };
}

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

  it('takes turns, keeps a held lease alive past several leases, and frees a dead holder’s lock when its lease ends', async () => {
    // The lease is long enough that an event loop stalled by a loaded machine does not lose it by accident.
    const leaseMs = 1500;
    const lock = new RedisLock(client(), { leaseMs, waitMs: 60_000 });
    const order: string[] = [];
    let entered!: () => void;
    const aIn = new Promise<void>((r) => (entered = r));
    const a = lock.with('{jit}:test-lock', async (lease) => {
      order.push('a-in');
      entered();
      const since = Date.now();
      while (Date.now() - since < 3 * leaseMs) await sleep(100); // three leases: renewal must keep it
      lease.check();
      order.push('a-out');
    });
    await aIn;
    const b = lock.with('{jit}:test-lock', async () => {
      order.push('b-in');
    });
    await Promise.all([a, b]);
    assert.deepEqual(order, ['a-in', 'a-out', 'b-in']);
    // A holder that died (its lease set, nobody renewing it) holds the others up until its lease ends.
    await client().set('{jit}:test-lock', 'dead-holder', 'PX', leaseMs);
    assert.equal(await lock.tryWith('{jit}:test-lock', async () => 'ran'), undefined, 'taken: tryWith does not wait');
    assert.equal(await lock.with('{jit}:test-lock', async () => 'ran'), 'ran');
  });

  it('takes a lock and reads in one round trip: the reads are answered only to the one that took it', async () => {
    const redis = client();
    const lock = new RedisLock(redis, { leaseMs: 1500 });
    await redis.set('{jit}:read-me', 'v1');
    const read: PipelinedRead<unknown[]> = { commands: 2, send: (p) => p.get('{jit}:read-me').exists('{jit}:read-lock'), decode: (answers) => [...answers] };
    let inside: unknown[] | undefined;
    const got = await lock.tryWithRead('{jit}:read-lock', read, async (_lease, answers) => {
      inside = answers;
      // While held, nobody else takes it, and their function does not run.
      assert.equal(await lock.tryWithRead('{jit}:read-lock', read, async () => assert.fail('ran beside the holder')), undefined);
      return 'ran';
    });
    assert.equal(got, 'ran');
    assert.deepEqual(inside, ['v1', 1], 'read after the lock was taken (it exists)');
    assert.equal(await redis.exists('{jit}:read-lock'), 0, 'released after');
  });

  it('waits for a held lock and reads again under it: never what was there before the holder let go', async () => {
    const redis = client();
    const lock = new RedisLock(redis, { leaseMs: 1500, waitMs: 10_000, pollMs: 5 });
    await redis.set('{jit}:block', 'old');
    const read: PipelinedRead<string | null> = { commands: 1, send: (p) => p.get('{jit}:block'), decode: ([v]) => v as string | null };
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    let held!: () => void;
    const taken = new Promise<void>((r) => (held = r));
    const first = lock.withRead('{jit}:block-lock', read, async (_lease, v) => {
      assert.equal(v, 'old');
      held();
      await holding;
      await redis.set('{jit}:block', 'new'); // written under the lock, before letting go
    });
    await taken;
    const second = lock.withRead('{jit}:block-lock', read, async (_lease, v) => v);
    release();
    await first;
    assert.equal(await second, 'new', 'the waiter read after it took the lock');
    // A read answered with an error fails the work and lets go of the lock at once.
    await redis.set('{jit}:not-a-set', 'x');
    const failing: PipelinedRead<unknown> = { commands: 1, send: (p) => p.smembers('{jit}:not-a-set'), decode: ([v]) => v };
    await assert.rejects(lock.withRead('{jit}:block-lock', failing, async () => assert.fail('ran on a failed read')), /WRONGTYPE/);
    assert.equal(await redis.exists('{jit}:block-lock'), 0, 'released after the failed read');
  });

  it('never lets the server hold an older rendering than one already written while two replicas race', async () => {
    const logger = pino({ level: 'silent' });
    const redisOf = [client(), client()];
    const replicas = redisOf.map((redis) => createSyncParts({ redis, policy, clock: systemClock, logger }));
    const { requests, keys } = replicas[0]!;
    const lockKey = requests.keys.syncLock('bastion');
    const steps = 20;
    const users = Array.from({ length: steps }, (_, i) => {
      const key = checkUserPublicKey(generateUserKey(dir, `race${i}`).publicKey, { minRsaBits: 3072 });
      assert.ok(key.ok);
      return { user: `U0RACE${i}`, key: key.value };
    });
    for (const u of users) await keys.set(u.user, u.key, Date.now());

    const syncs: Promise<unknown>[] = [];
    const errors: unknown[] = [];
    const waiters = new Set<() => void>();
    const notify = () => {
      for (const w of waiters) w();
    };
    const until = (probe: () => boolean) => {
      const w = waiter(() => probe() || errors.length > 0);
      waiters.add(w.check);
      w.check();
      return w.promise.finally(() => waiters.delete(w.check));
    };
    const kick = (n: number) =>
      syncs.push(
        replicas[n]!.sync.sync('bastion').catch((err: unknown) => {
          errors.push(err);
          notify();
        }),
      );

    // Seen, not changed: each replica's refusals to take the sync lock (its Redis client's SET NX answered nil)...
    const refused = [0, 0];
    for (const [n, redis] of redisOf.entries()) {
      const set = redis.set.bind(redis) as (...args: unknown[]) => Promise<unknown>;
      (redis as unknown as { set: typeof set }).set = async (...args) => {
        const reply = await set(...args);
        if (args[0] === lockKey && reply === null) {
          refused[n]!++;
          notify();
        }
        return reply;
      };
    }
    // ...and every call of its updater (its rendering is made by then) and every write, as it completes (still
    // under that replica's lock): the file must hold at least the newest version written so far, by either.
    const rendered = [0, 0];
    let held: { replica: number; entered: boolean; released: Promise<void> } | undefined;
    let newestWritten = -1;
    const writes: string[] = [];
    const regressions: string[] = [];
    for (const [n, r] of replicas.entries()) {
      const real = r.connections.updateAuthorizedKeys.bind(r.connections);
      r.connections.updateAuthorizedKeys = async (jh, update, guard) => {
        rendered[n]!++;
        notify();
        if (held?.replica === n && !held.entered) {
          held.entered = true;
          await held.released; // a slow link: this rendering ages on its way to the server
        }
        const result = await real(jh, update, guard);
        if (result.changed) {
          const wrote = versionOf(result.after);
          newestWritten = Math.max(newestWritten, wrote);
          const onServer = versionOf(jump.readAuthorizedKeys());
          writes.push(`replica ${n} wrote v${wrote}, server holds v${onServer}`);
          if (onServer < newestWritten) regressions.push(`after replica ${n} wrote v${wrote}: server holds v${onServer}, v${newestWritten} was already written`);
          notify();
        }
        return result;
      };
    }

    // Step i: grant rrace<i> becomes active and rrace<i-2> ends. One replica (in random turns) is asked to sync
    // and has made its rendering before the change; its write is held back until the other replica, asked right
    // after the change, has either overtaken it (written step i: possible only without the lock) or been refused
    // the lock. No timing decides anything: without the lock the stale rendering lands last in every step.
    // Versions only grow under the lock: a render reads the active ids, then the grants; rrace<i> ends two steps
    // later, and step i+1 waits for a write of step i, which cannot land while another sync holds the lock.
    let release = () => {};
    try {
      for (let i = 0; i < steps && errors.length === 0; i++) {
        const id = `rrace${i}`;
        const u = users[i]!;
        const early = Math.random() < 0.5 ? 0 : 1;
        const late = 1 - early;
        held = { replica: early, entered: false, released: new Promise<void>((r) => (release = r)) };
        const before = rendered[early]!;
        kick(early);
        await until(() => rendered[early]! > before);
        await requests.create({ id, requester: u.user, host: 'db', jumpHost: 'bastion', durationMs: 600_000, reason: 'race', state: 'pending', createdAt: Date.now(), requiredApprovals: 1, approvers: [] }, { type: 'requested', at: Date.now(), requestId: id });
        const approved = await requests.approve((await requests.get(id))!, 'U0OWNER', Date.now(), asRequested((await requests.get(id))!));
        assert.ok(approved.ok && approved.value.activated);
        if (i >= 2) await requests.transition({ id: `rrace${i - 2}`, jumpHost: 'bastion' }, 'revoked', { type: 'revoked', at: Date.now(), requestId: `rrace${i - 2}` }, { endedAt: Date.now() });
        const refusedBefore = refused[late]!;
        kick(late);
        await until(() => newestWritten >= i || refused[late]! > refusedBefore);
        release();
        await until(() => newestWritten >= i);
      }
    } finally {
      held = undefined;
      release(); // a failed step must not leave a sync waiting
    }
    await Promise.all(syncs);
    console.log(`${writes.length} writes by two replicas over ${steps} store changes; ${regressions.length} older renderings written last`);
    assert.deepEqual(errors, []);
    assert.deepEqual(regressions, [], writes.join('\n'));
    assert.ok([0, 1].every((n) => writes.some((w) => w.startsWith(`replica ${n} `))), 'both replicas wrote');
    // The syncs asked for after the last change left its rendering on the server: the last two grants.
    const block = parseAuthorizedKeys(jump.readAuthorizedKeys()).block ?? [];
    assert.deepEqual(block.map((l) => /jit:(\S+)$/.exec(l)![1]!).sort(), [`rrace${steps - 2}`, `rrace${steps - 1}`].sort());
    await Promise.all(replicas.map(async (r) => {
      await r.sync.stop();
      await r.connections.close();
    }));
  });
});

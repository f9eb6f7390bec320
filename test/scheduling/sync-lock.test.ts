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
import { RedisLock } from '../../src/store/redis-lock.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';

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

  it('never lets the server hold an older rendering than one already written while two replicas race', async () => {
    const logger = pino({ level: 'silent' });
    const replicas = [0, 1].map(() => createSyncParts({ redis: client(), policy, clock: systemClock, logger }));
    const { requests, keys } = replicas[0]!;
    const steps = 40;
    const users = Array.from({ length: steps }, (_, i) => {
      const key = checkUserPublicKey(generateUserKey(dir, `race${i}`).publicKey, { minRsaBits: 3072 });
      assert.ok(key.ok);
      return { user: `U0RACE${i}`, key: key.key };
    });
    for (const u of users) await keys.set(u.user, u.key, Date.now());

    // Every write either replica makes, seen as it completes (the write is still under that replica's lock
    // then): the file must hold at least the newest version written so far, in any replica.
    let newestWritten = -1;
    const syncs: Promise<unknown>[] = [];
    const errors: unknown[] = [];
    const writes: string[] = [];
    const regressions: string[] = [];
    const waiters = new Set<() => void>();
    const rendered = [0, 0];
    for (const [n, r] of replicas.entries()) {
      const real = r.connections.updateAuthorizedKeys.bind(r.connections);
      r.connections.updateAuthorizedKeys = async (jh, update) => {
        rendered[n]!++; // a sync calls the updater with its rendering made
        for (const w of waiters) w();
        // A link that is sometimes slow: half the writes set off at once, half after 20-50 ms, so a sync's
        // rendering may age on its way while the other replica renders a newer one and writes it first.
        await sleep(Math.random() < 0.5 ? 0 : 20 + Math.random() * 30);
        const result = await real(jh, update);
        if (result.changed) {
          const wrote = versionOf(result.after);
          newestWritten = Math.max(newestWritten, wrote);
          const onServer = versionOf(jump.readAuthorizedKeys());
          writes.push(`replica ${n} wrote v${wrote}, server holds v${onServer}`);
          if (onServer < newestWritten) regressions.push(`after replica ${n} wrote v${wrote}: server holds v${onServer}, v${newestWritten} was already written`);
          for (const w of waiters) w();
        }
        return result;
      };
    }
    const until = (probe: () => boolean) => {
      const w = waiter(() => probe() || errors.length > 0);
      waiters.add(w.check);
      w.check();
      return w.promise.finally(() => waiters.delete(w.check));
    };

    const kick = (r: (typeof replicas)[number]) =>
      syncs.push(
        r.sync.sync('bastion').catch((err: unknown) => {
          errors.push(err);
          for (const w of waiters) w();
        }),
      );

    // Step i: grant rrace<i> becomes active and rrace<i-2> ends. One replica (in random turns) is asked to sync
    // and has made its rendering before the change, the other is asked right after it: so their renders straddle
    // the change. The next step starts once step i has reached the server, while the first may still be writing.
    // Versions only grow under the lock: a render reads the active ids, then the grants; rrace<i> ends two steps
    // later, and step i+1 waits for a write of step i, which cannot land while another sync holds the lock.
    for (let i = 0; i < steps; i++) {
      const id = `rrace${i}`;
      const u = users[i]!;
      const early = Math.random() < 0.5 ? 0 : 1;
      const before = rendered[early]!;
      kick(replicas[early]!);
      await until(() => rendered[early]! > before);
      await requests.create({ id, requester: u.user, host: 'db', jumpHost: 'bastion', durationMs: 600_000, reason: 'race', state: 'pending', createdAt: Date.now(), requiredApprovals: 1, approvers: [] }, { type: 'requested', at: Date.now(), requestId: id });
      assert.equal((await requests.approve((await requests.get(id))!, 'U0OWNER', Date.now())).outcome, 'activated');
      if (i >= 2) await requests.transition({ id: `rrace${i - 2}`, jumpHost: 'bastion' }, 'revoked', { type: 'revoked', at: Date.now(), requestId: `rrace${i - 2}` }, { endedAt: Date.now() });
      kick(replicas[1 - early]!);
      await until(() => newestWritten >= i);
    }
    await Promise.all(syncs);
    console.log(`${writes.length} writes by two replicas over ${steps} store changes; ${regressions.length} regressions`);
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

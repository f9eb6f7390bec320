// The connections seen in a jump server's log, against a real redis-server: one read's records, audit events
// and new position land together; the same record stored twice is one connection; ended ones leave the live set.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectionRecord } from '../../src/domain/sshd-log.ts';
import { ConnectionStore, ENDED_CONNECTION_TTL_MS } from '../../src/store/connection-store.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

const T = 1_800_000_000_000;
const FP = 'SHA256:' + 'k'.repeat(43);
const rec = (pid: number, at: number, extra: Partial<ConnectionRecord> = {}): ConnectionRecord => ({
  id: `${pid}-${at}`, jumpHost: 'bastion', monitorPid: pid, fingerprint: FP, ip: '127.0.0.1', port: 4000 + pid, startedAt: at, targets: [], ...extra,
});

describe('connection store', () => {
  const db = useFreshRedis();

  it('stores a read’s connections, audit events and position at once; the same record twice is one connection', async () => {
    const store = new ConnectionStore(db.redis);
    const event = { type: 'connection' as const, at: T, requestId: 'r1', detail: 'connected' };
    await store.record('bastion', { position: 'journal:s=1;i=2', records: [rec(10, T), rec(11, T + 1000)], events: [{ event, connection: `10-${T}` }], targetsSeen: false });
    // The same login read again raises no second event.
    await store.record('bastion', { position: 'journal:s=1;i=3', records: [rec(10, T, { childPid: 12, targets: ['10.0.0.5:22'] })], events: [{ event, connection: `10-${T}` }], targetsSeen: true });
    assert.equal(await store.position('bastion'), 'journal:s=1;i=3');
    assert.deepEqual((await store.live('bastion')).map((c) => [c.id, c.childPid, c.targets]), [['10-' + T, 12, ['10.0.0.5:22']], ['11-' + (T + 1000), undefined, []]]);
    assert.equal((await store.forKey('bastion', FP, T, T + 1000)).length, 2);
    assert.deepEqual((await store.forKey('bastion', FP, T + 1, T + 999)), [], 'by start time');
    assert.equal(await store.targetsLogged('bastion'), true);
    const audit = await db.redis.xrange('{jit}:audit', '-', '+');
    assert.deepEqual(audit.map(([, f]) => JSON.parse(f[1]!)), [event]);
  });

  it('an ended connection leaves the live set and expires with its index; no position leaves the position as it is', async () => {
    const store = new ConnectionStore(db.redis);
    await store.record('bastion', { position: 'file:100', records: [rec(10, T)], events: [], targetsSeen: false });
    await store.record('bastion', { records: [rec(10, T, { endedAt: T + 5000, endedBy: 'broker' })], events: [], targetsSeen: false });
    assert.equal(await store.position('bastion'), 'file:100');
    assert.deepEqual(await store.live('bastion'), []);
    const [ended] = await store.forKey('bastion', FP, 0, Number.MAX_SAFE_INTEGER);
    assert.equal(ended!.endedBy, 'broker');
    const ttl = await db.redis.ttl(`{jit}:jh:bastion:conn:10-${T}`);
    assert.ok(ttl > 0 && ttl <= ENDED_CONNECTION_TTL_MS / 1000, String(ttl));
    assert.equal(await store.targetsLogged('bastion'), false);
    // Its older lines read again (the record as it stood before the end) do not make it live again.
    await store.record('bastion', { records: [rec(10, T, { childPid: 12 })], events: [], targetsSeen: false });
    assert.deepEqual(await store.live('bastion'), []);
    assert.equal((await store.forKey('bastion', FP, 0, Number.MAX_SAFE_INTEGER))[0]!.endedBy, 'broker');
  });

  it('keeps the tunnel lines a read carried past its position with that position, and only with one', async () => {
    const store = new ConnectionStore(db.redis);
    const line = { kind: 'tunnel' as const, at: T, pid: 12, host: '10.0.0.5', port: 22 };
    assert.deepEqual(await store.pendingTunnels('bastion'), []);
    await store.record('bastion', { position: 'file:100', pending: [line], records: [rec(10, T)], events: [], targetsSeen: true });
    assert.deepEqual(await store.pendingTunnels('bastion'), [line]);
    await store.record('bastion', { records: [rec(10, T, { endedAt: T + 1, endedBy: 'broker' })], events: [], targetsSeen: false });
    assert.deepEqual(await store.pendingTunnels('bastion'), [line], 'no position: the broker ended a connection, nothing was read');
    await store.record('bastion', { position: 'file:200', pending: [], records: [], events: [], targetsSeen: false });
    assert.deepEqual(await store.pendingTunnels('bastion'), []);
    assert.deepEqual(await store.pendingTunnels('other'), []);
  });

  it('remembers the grants rendered with each key, and the keys ever in the block', async () => {
    const store = new ConnectionStore(db.redis);
    await store.noteRendered('bastion', [{ id: 'r1', fingerprint: FP, activatedAt: T }, { id: 'r2', fingerprint: FP, activatedAt: T + 1 }]);
    await store.noteRendered('bastion', [{ id: 'r1', fingerprint: FP, activatedAt: T }]);
    assert.deepEqual(await store.grantIdsForKey('bastion', FP), ['r1', 'r2']);
    assert.deepEqual([...(await store.blockKeys('bastion'))], [FP]);
    assert.deepEqual([...(await store.blockKeys('other'))], []);
  });
});

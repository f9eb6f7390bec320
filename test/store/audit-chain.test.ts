// The audit hash chain as Redis writes it (Lua: SHA-256 and canonical JSON) and as the verifier recomputes it
// (domain/audit-chain.ts): the two must agree byte for byte on any event, including hostile text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AuditEvent } from '../../src/domain/audit-event.ts';
import { canonicalJson, chainHash, GENESIS_HASH, verifyChain } from '../../src/domain/audit-chain.ts';
import { jsonlLine } from '../../src/audit/audit-export.ts';
import { AuditLog } from '../../src/store/audit-log.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

describe('audit hash chain on real Redis', () => {
  const db = useFreshRedis();

  it('chains events in order: seq from 1, prev = the hash before, hash = SHA-256 as Node computes it', async () => {
    const store = new RequestStore(db.redis);
    const log = new AuditLog(db.redis);
    const at = Date.now();
    await store.appendAudit({ type: 'refused', at, actor: 'U1', code: 'not-owner', detail: 'approve: not an owner' });
    await store.appendAudit({ type: 'jump-host-alert', at: at + 1, host: 'bastion', detail: 'reachable again' });
    const events = await log.list(0);
    assert.deepEqual(events.map((e) => e.event.seq), [1, 2]);
    assert.equal(events[0]!.event.prev, GENESIS_HASH);
    assert.equal(events[1]!.event.prev, events[0]!.event.hash);
    for (const e of events) assert.equal(e.event.hash, chainHash(e.event.prev, e.event.seq, e.canonical));
    assert.equal(events[0]!.canonical, '{"actor":"U1","at":' + at + ',"code":"not-owner","detail":"approve: not an owner","type":"refused"}');
    assert.deepEqual(await log.head(), { seq: 2, hash: events[1]!.event.hash, at: at + 1 });
    assert.deepEqual(verifyChain(events.map(jsonlLine)), { ok: true, events: 2, first: { seq: 1, hash: events[0]!.event.hash }, last: { seq: 2, hash: events[1]!.event.hash }, checkpoints: 0 });
  });

  it('Lua and the verifier encode and hash any event alike (unicode, control characters, quotes, long text)', async () => {
    const store = new RequestStore(db.redis);
    const log = new AuditLog(db.redis);
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', '"', '\\', '/', '\n', '\t', '\u0000', '\u0001', '\u001f', '\u007f', 'é', '€', '😀', '\u2028', ' ', '{', ',', ':'), maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { actor: text, host: text, reason: text, detail: fc.oneof(text, fc.string({ maxLength: 2000 })), durationMs: fc.integer({ min: 0, max: 2 ** 40 }), expiresAt: fc.integer({ min: 0, max: 4e12 }) },
          { requiredKeys: [] },
        ),
        async (fields) => {
          await db.redis.flushall();
          const event = { type: 'refused', at: 1_800_000_000_000, ...fields } as AuditEvent;
          await store.appendAudit(event);
          const [stored] = await log.list(0);
          assert.equal(stored!.canonical, canonicalJson(event));
          assert.equal(stored!.event.hash, chainHash(GENESIS_HASH, 1, canonicalJson(event)));
          assert.equal(verifyChain([jsonlLine(stored!)]).ok, true);
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 150) },
    );
  });

  it('retention drops events by age, exactly, and never the newest (the chain continues from it)', async () => {
    const store = new RequestStore(db.redis);
    const log = new AuditLog(db.redis);
    for (let i = 0; i < 5; i++) await store.appendAudit({ type: 'refused', at: Date.now(), detail: `e${i}` });
    const [first, , third] = await log.list(0);
    const thirdMs = Number(third!.streamId.split('-')[0]);
    // Everything before the third event's millisecond is past retention.
    assert.ok((await log.trim(Date.now() - thirdMs, Date.now())) >= 1);
    const left = await log.list(0);
    assert.ok(!left.some((e) => e.streamId === first!.streamId));
    assert.ok(left.some((e) => e.streamId === third!.streamId));
    // A retention shorter than the newest event's age still keeps the newest.
    await log.trim(1, Date.now() + 86_400_000);
    const kept = await log.list(0);
    const newest = kept[kept.length - 1]!;
    assert.equal(newest.event.seq, 5);
    // Only the newest event's millisecond is kept (entries stored in the same millisecond stay with it).
    assert.ok(kept.every((e) => e.streamId.split('-')[0] === newest.streamId.split('-')[0]));
    await store.appendAudit({ type: 'refused', at: Date.now(), detail: 'after' });
    const after = await log.list(0);
    assert.deepEqual(after.slice(-2).map((e) => e.event.seq), [5, 6]);
    assert.equal(after[after.length - 1]!.event.prev, newest.event.hash);
    assert.equal(verifyChain(after.map(jsonlLine)).ok, true);
  });
});

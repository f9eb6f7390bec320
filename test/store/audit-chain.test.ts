// The audit hash chain as Redis writes it (Lua: SHA-256 and canonical JSON) and as the verifier recomputes it
// (domain/audit-chain.ts): the two must agree byte for byte on any event, including hostile text.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { AuditEvent } from '../../src/domain/audit-event.ts';
import { canonicalJson, chainHash, GENESIS_HASH, verifyChain } from '../../src/domain/audit-chain.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { jsonlLine } from '../../src/audit/audit-export.ts';
import { AuditLog } from '../../src/store/audit-log.ts';
import { freePort, spawnTracked, stopProcess, waitForPort } from '../../src/sandbox/processes.ts';
import { KeyStore } from '../../src/store/key-store.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import { asRequested } from '../support/approval-rules.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

const AUDIT_APPEND = readFileSync(new URL('../../src/store/lua/include/audit-append.lua', import.meta.url), 'utf8');

/** Each argument `a` through `expression` (a Lua expression using the include's functions), in one EVAL. */
async function throughLua(redis: Redis, expression: string, args: readonly (string | Buffer)[]): Promise<string[]> {
  const body = `local out = {}\nfor i = 1, #ARGV do local a = ARGV[i]; out[i] = ${expression} end\nreturn out`;
  return (await redis.eval(`${AUDIT_APPEND}\n${body}`, 0, ...args)) as string[];
}

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

  it('Lua\'s SHA-256 is Node\'s for every length from 0 to 300 bytes (each padding boundary: 55/56/64, 119/120/128 …) and any byte', async () => {
    // Bytes 0-255 in a pattern that differs by length, so no two messages share a block by accident.
    const messages = Array.from({ length: 301 }, (_, n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + n * 29 + 7) % 256)));
    messages.push(Buffer.alloc(64, 0xff), Buffer.alloc(1000, 0x80), Buffer.from('é€😀\u2028'.repeat(700)));
    const lua = await throughLua(db.redis, 'auditSha256(a)', messages);
    assert.deepEqual(lua, messages.map((m) => createHash('sha256').update(m).digest('hex')));
  });

  it('Lua\'s canonical encoding (for events a script changes) is the verifier\'s: nested arrays and objects, numbers, any text', async () => {
    const text = fc.string({ unit: fc.constantFrom('a', '"', '\\', '/', '\n', '\b', '\f', '\r', '\t', '\u0000', '\u001f', '\u007f', 'é', '€', '😀', '\u2028', ' '), maxLength: 40 });
    // Keys as events have them: ASCII names (both sides sort them by their bytes).
    const key = fc.string({ unit: fc.constantFrom('a', 'b', 'z', 'A', 'Z', 'I', '_', '0', '9'), maxLength: 6 });
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { maxDepth: 3 },
        text,
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.integer({ min: -1e6, max: 1e6 }).map((n) => n / 2),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      ),
    }));
    // Byte order whatever the server's locale (here C; under en_US Lua's own `<` puts requester first).
    assert.deepEqual(await throughLua(db.redis, 'auditCanonical(cjson.decode(a))', ['{"requester":1,"requestId":2,"_":3,"Z":4,"":5}']), ['{"":5,"Z":4,"_":3,"requestId":2,"requester":1}']);
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 20 }), async (values) => {
        const lua = await throughLua(db.redis, 'auditCanonical(cjson.decode(a))', values.map((v) => JSON.stringify(v)));
        assert.deepEqual(lua, values.map(canonicalJson));
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 100) },
    );
  });

  it('sets a number in a canonical event in place where the broker sent 0, else by re-encoding; never inside a string', async () => {
    const tricky = ',"expiresAt":0,{"expiresAt":0}';
    const cases: [Record<string, unknown>, number][] = [
      [{ at: 1, expiresAt: 0, type: 'activated' }, 1_800_000_003_600_000],
      [{ expiresAt: 0 }, 5],
      [{ detail: tricky, expiresAt: 0, reason: tricky }, 7],
      [{ detail: tricky, reason: 'é"\\' }, 9], // no placeholder: re-encoded with the field added
      [{ at: 1, expiresAt: 12, zz: 0 }, 13], // a value other than 0 is no placeholder either
    ];
    for (const [event, n] of cases) {
      const out = await db.redis.eval(`${AUDIT_APPEND}\nreturn auditWithNumber(ARGV[1], 'expiresAt', tonumber(ARGV[2]))`, 0, canonicalJson(event), String(n));
      assert.equal(out, canonicalJson({ ...event, expiresAt: n }), JSON.stringify(event));
    }
  });

  it('sorts keys in byte order on a redis-server whose locale collates otherwise (en_US: requester before requestId)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-locale-'));
    try {
      try {
        execFileSync('localedef', ['-i', 'en_US', '-f', 'UTF-8', join(dir, 'en_US.UTF-8')], { stdio: 'ignore' });
      } catch {
        return t.skip('localedef cannot build en_US.UTF-8 here');
      }
      const port = await freePort();
      const env = { ...process.env, LOCPATH: dir, LC_ALL: 'en_US.UTF-8' };
      const server = spawnTracked('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir], { env });
      let redis: Redis | undefined;
      try {
        await waitForPort(port, undefined);
        redis = new Redis(`redis://127.0.0.1:${port}`);
        // The locale is in force: Lua's own comparison puts requester first…
        assert.deepEqual(await redis.eval("local k = {'requestId', 'requester'} table.sort(k) return k", 0), ['requester', 'requestId']);
        // …and the canonical encoding still sorts as the verifier does.
        const value = { requester: 'U1', requestId: 'r1', Z: 1, _: 2, apple: 3 };
        assert.deepEqual(await throughLua(redis, 'auditCanonical(cjson.decode(a))', [JSON.stringify(value)]), [canonicalJson(value)]);
      } finally {
        redis?.disconnect();
        await stopProcess(server);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('appends whatever its length: a chain whose messages sweep over two 64-byte blocks verifies, each hash as Node computes it', async () => {
    const store = new RequestStore(db.redis);
    const log = new AuditLog(db.redis);
    // 'é' is two bytes: the message's length in bytes, not characters, decides its padding.
    for (let n = 0; n <= 140; n++) await store.appendAudit({ type: 'refused', at: 1_800_000_000_000 + n, detail: `é${'x'.repeat(n)}` });
    const events = await log.list(0);
    assert.equal(events.length, 141);
    const lengths = new Set(events.map((e) => Buffer.byteLength(`${e.event.prev}\n${e.event.seq}\n${e.canonical}`) % 64));
    assert.equal(lengths.size, 64, 'every length modulo 64');
    for (const e of events) assert.equal(e.event.hash, chainHash(e.event.prev, e.event.seq, e.canonical));
    assert.deepEqual(verifyChain(events.map(jsonlLine)), { ok: true, events: 141, first: { seq: 1, hash: events[0]!.event.hash }, last: { seq: 141, hash: events[140]!.event.hash }, checkpoints: 0 });
  });

  it('events a script changes (key added/replaced/removed, shortened approval, activation, extensions) are stored canonical and verify', async () => {
    const store = new RequestStore(db.redis);
    const keys = new KeyStore(db.redis);
    const log = new AuditLog(db.redis);
    const now = 1_800_000_000_000;
    const hour = 3_600_000;
    // Hostile text in every free field: the broker sends it canonical, Lua decodes, changes and re-encodes it.
    const reason = 'fix "replication" \\ é€😀 \u2028\n\t\u0001 {,:}';
    const req: AccessRequest = {
      id: 'rchain1', requester: 'UREQ', host: 'db-1', jumpHost: 'bastion', durationMs: 2 * hour, reason,
      state: 'pending', createdAt: now, requiredApprovals: 2, approvers: [],
    };
    const key = (n: string) => ({ line: `ssh-ed25519 AAAA${n}`, type: 'ssh-ed25519', bits: 256, fingerprint: `SHA256:${n}"é` });
    await keys.set('UREQ', key('a'), now);
    await keys.set('UREQ', key('b'), now + 1);
    await store.create(req, { type: 'requested', at: now, requestId: req.id, requester: 'UREQ', reason });
    await store.approve(req, 'UA', now + 2, asRequested(req), hour);
    const activated = await store.approve(req, 'UB', now + 3, asRequested(req));
    assert.ok(activated.ok && 'expiresAt' in activated.value);
    const grant = (await store.get(req.id))!;
    const extension = (id: string): AccessRequest => ({ ...req, id, extends: req.id, durationMs: hour / 2, requiredApprovals: 1, createdAt: now + 4 });
    const selfExt = await store.askExtension(grant, extension('rchain2'), { extended: { type: 'extended', at: now + 4, requestId: req.id, reason }, requested: { type: 'requested', at: now + 4, requestId: 'rchain2' } }, { now: now + 4, maxTotalMs: 4 * hour, selfExtendMs: hour });
    assert.ok(selfExt.ok && selfExt.value.extended);
    const asked = extension('rchain3');
    const asking = await store.askExtension((await store.get(req.id))!, asked, { extended: { type: 'extended', at: now + 5, requestId: req.id }, requested: { type: 'requested', at: now + 5, requestId: asked.id, reason } }, { now: now + 5, maxTotalMs: 4 * hour, selfExtendMs: 0 });
    assert.ok(asking.ok && !asking.value.extended);
    const extended = await store.approve(asked, 'UA', now + 6, asRequested(asked, { maxTotalMs: 4 * hour }));
    assert.ok(extended.ok && 'extendedGrant' in extended.value);
    await keys.remove('UREQ', now + 7);

    const events = await log.list(0);
    assert.deepEqual(
      events.map((e) => e.event.type),
      ['key-added', 'key-replaced', 'requested', 'approval-recorded', 'approved', 'activated', 'extended', 'requested', 'approved', 'extended', 'key-removed'],
    );
    for (const e of events) assert.equal(e.canonical, canonicalJson(JSON.parse(e.canonical)), `${e.event.type} is stored canonical`);
    const byType = (type: string) => events.filter((e) => e.event.type === type).map((e) => e.event);
    assert.equal(byType('activated')[0]!.expiresAt, now + 3 + hour, 'set in Lua');
    assert.equal(byType('activated')[0]!.detail, 'approved for 1h of 2h asked (shortened by UA)');
    assert.deepEqual(byType('extended').map((e) => e.expiresAt), [now + 3 + hour + hour / 2, now + 3 + 2 * hour]);
    assert.equal(byType('key-removed')[0]!.detail, 'ssh-ed25519 SHA256:b"é');
    assert.equal(verifyChain(events.map(jsonlLine)).ok, true);
  });

  it('retention drops events by age, exactly, and never the newest (the chain continues from it)', async () => {
    const store = new RequestStore(db.redis);
    const log = new AuditLog(db.redis);
    // Each event in a millisecond of its own (Redis stamps the stream id from the same clock): appended within one
    // millisecond, the first and third would share it and the trim below could not drop one without the other.
    for (let i = 0; i < 5; i++) {
      await store.appendAudit({ type: 'refused', at: Date.now(), detail: `e${i}` });
      const [newest] = (await db.redis.xrevrange(log.streamKey, '+', '-', 'COUNT', 1)) as [string, string[]][];
      while (Date.now() <= Number(newest![0].split('-')[0])) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const [first, , third] = await log.list(0);
    const thirdMs = Number(third!.streamId.split('-')[0]);
    // Everything before the third event's millisecond is past retention (one `now` for both: read twice, a
    // millisecond passing between the reads moved the cutoff past the third event).
    const now = Date.now();
    assert.ok((await log.trim(now - thirdMs, now)) >= 1);
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

// The store's Lua scripts as files: each named by its spec, loaded once (EVALSHA, EVAL again after NOSCRIPT),
// guarded by the state table, and the audit append written in one place only.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { ACTIVE_STATE, canTransition, EXTENDED_STATE, INITIAL_STATE, REQUEST_STATES, type RequestState } from '../../src/domain/request-state.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import { decodeReply, runScript, SCRIPTS, scriptSource, type ScriptName } from '../../src/store/scripts.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';
import { codeOf } from '../support/results.ts';
import { asRequested } from '../support/approval-rules.ts';

const LUA = join(import.meta.dirname, '../../src/store/lua');
const NOW = 1_800_000_000_000;

function draft(id: string, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return { id, requester: 'UREQ', host: 'db', jumpHost: 'bastion', durationMs: 3_600_000, reason: 'r', state: 'pending', createdAt: NOW, requiredApprovals: 1, approvers: [], ...overrides };
}

/** Every file under src/ (and its text), for the "written in one place" checks. */
function sourceFiles(dir = join(import.meta.dirname, '../../src')): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : [{ path, text: readFileSync(path, 'utf8') }];
  });
}

async function commandCalls(redis: Redis, command: string): Promise<number> {
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await redis.info('commandstats'))?.[1] ?? 0);
}

describe('Lua scripts', () => {
  const db = useFreshRedis();

  it('has one spec per script file and one file per spec, with the header naming the spec’s KEYS and ARGV', () => {
    const files = readdirSync(LUA).filter((f) => f.endsWith('.lua')).map((f) => f.replace(/\.lua$/, ''));
    assert.deepEqual(files.sort(), Object.keys(SCRIPTS).sort());
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      const source = scriptSource(name);
      assert.ok(source.startsWith(`local KEY = { ${SCRIPTS[name].keys[0]} = KEYS[1]`), name);
      assert.doesNotMatch(source, /#include/, `${name}: includes expanded`);
      assert.doesNotMatch(readFileSync(join(LUA, `${name}.lua`), 'utf8'), /KEYS\[|ARGV\[(?!i)/, `${name} reads KEY.<name> and ARG.<name>, not positions`);
    }
  });

  it('writes the audit append (XADD … MAXLEN ~) in one place: the shared include', () => {
    const writers = sourceFiles()
      .filter((f) => /\bXADD\b|\.xadd\(|\bMAXLEN\b/.test(f.text))
      .map((f) => f.path.slice(f.path.indexOf('src/')));
    assert.deepEqual(writers, ['src/store/lua/include/audit-append.lua']);
    const users = readdirSync(LUA).filter((f) => f.endsWith('.lua') && readFileSync(join(LUA, f), 'utf8').includes('-- #include audit-append'));
    assert.deepEqual(users.sort(), ['acknowledge.lua', 'append-audit.lua', 'approve.lua', 'ask-extension.lua', 'create-request.lua', 'record-connections.lua', 'remove-key.lua', 'set-key.lua', 'transition.lua']);
  });

  it('appends only canonical events: as the broker sends them, or re-encoded by auditCanonical after a change', () => {
    // The append stores the text it is given (no re-encoding: the hash covers exactly that text), so every call
    // passes an argument the broker made with canonicalJson, or auditCanonical's or auditWithNumber's output.
    const calls = readdirSync(LUA, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.lua'))
      .flatMap((f) => [...readFileSync(join(LUA, f), 'utf8').matchAll(/(?<!function )\bauditAppend\(([^,]+), ([^,]+)/g)].map((m) => `${f}: ${m[2]}`));
    assert.ok(calls.length >= 12, calls.join('\n'));
    for (const call of calls) assert.match(call, /: (ARG\.\w+|e\.event|auditCanonical\(\w+\)|(auditWithNumber\()?withShortening\(ARG\.\w+|auditWithNumber\(ARG\.\w+)$/, call);
    assert.match(readFileSync(join(LUA, 'include/shorter-approval.lua'), 'utf8'), /return auditCanonical\(event\)/);
    // The broker's side: every event argument of a script is canonicalJson's output, never JSON.stringify's.
    for (const f of sourceFiles().filter((f) => f.path.includes('src/store/') && f.path.endsWith('.ts'))) {
      assert.doesNotMatch(f.text, /[eE]vent\w*: JSON\.stringify\(/, f.path);
      assert.doesNotMatch(f.text, /JSON\.stringify\(\s*(?:[\w.]*\.)?\w*[eE]vents?(?:\.\w+)?\s*\)/, f.path);
    }
  });

  it('names no request state in Lua: the guards come from the state table', () => {
    for (const f of readdirSync(LUA).filter((n) => n.endsWith('.lua')))
      for (const state of REQUEST_STATES) assert.ok(!readFileSync(join(LUA, f), 'utf8').includes(`'${state}'`), `${f} names '${state}'`);
  });

  it('lets the transition script move a request exactly where the state table allows, from every state', async () => {
    const store = new RequestStore(db.redis);
    for (const from of REQUEST_STATES)
      // every target but `active` and `extended` (approve, below) and `pending` (nothing moves there: refused below)
      for (const to of REQUEST_STATES.filter((s) => s !== ACTIVE_STATE && s !== EXTENDED_STATE && s !== INITIAL_STATE)) {
        const req = draft(`r${from}-${to}`.replace(/[^a-z0-9-]/g, ''));
        await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
        await db.redis.hset(store.keys.request(req.id), 'state', from);
        const r = await store.transition(req, to, { type: to as Exclude<RequestState, 'pending' | 'active'>, at: NOW });
        assert.deepEqual(r.ok ? r.value : r.ok === false && 'state' in r && { code: r.code, state: r.state }, canTransition(from, to) ? { from } : { code: 'conflict', state: from }, `${from} → ${to}`);
        assert.equal((await store.get(req.id))?.state, canTransition(from, to) ? to : from);
      }
  });

  it('lets the approve script activate exactly the states the table lets become active', async () => {
    const store = new RequestStore(db.redis);
    for (const from of REQUEST_STATES) {
      const req = draft(`rapprove-${from}`);
      await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
      await db.redis.hset(store.keys.request(req.id), 'state', from);
      const r = await store.approve(req, 'UOWNER', NOW, asRequested(req));
      const got = r.ok ? r.value : 'state' in r ? { code: r.code, state: r.state } : r;
      assert.deepEqual(got, canTransition(from, ACTIVE_STATE) ? { activated: true, expiresAt: NOW + 3_600_000 } : { code: 'conflict', state: from }, from);
    }
  });

  it('approves only what the current policy allows, in the same step: deadline, maxDuration, required approvals', async () => {
    const store = new RequestStore(db.redis);
    const HOUR = 3_600_000;
    const made = async (id: string, overrides: Partial<AccessRequest> = {}) => {
      const req = draft(id, overrides);
      await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
      return req;
    };
    const unchanged = async (req: AccessRequest) => {
      const now = (await store.get(req.id))!;
      assert.deepEqual([now.state, now.approvers, now.requiredApprovals], ['pending', [], req.requiredApprovals], req.id);
      assert.equal(await db.redis.zscore(store.keys.activeGrants('bastion'), req.id), null);
    };
    const auditLength = () => db.redis.xlen(store.keys.auditStream);

    // The deadline is createdAt + the current approval timeout: the last millisecond before it still counts.
    const late = await made('rlate');
    const rules = asRequested(late, { approvalTimeoutMs: HOUR });
    const before = await auditLength();
    assert.deepEqual(codeOf(await store.approve(late, 'UOWNER', NOW + HOUR, rules)), { ok: false, code: 'too-late', deadline: NOW + HOUR });
    assert.deepEqual(codeOf(await store.approve(late, 'UOWNER', NOW + 5 * HOUR, rules)), { ok: false, code: 'too-late', deadline: NOW + HOUR });
    await unchanged(late);
    assert.equal(await auditLength(), before, 'a refusal writes nothing');
    assert.equal((await store.approve(late, 'UOWNER', NOW + HOUR - 1, rules)).ok, true);

    // A request for 8h on a host that now allows 2h: refused, not clamped, whichever approval it would be.
    const long = await made('rlong', { durationMs: 8 * HOUR, requiredApprovals: 2 });
    const tighter = asRequested(long, { maxDurationMs: 2 * HOUR });
    assert.deepEqual(codeOf(await store.approve(long, 'UA', NOW, tighter)), { ok: false, code: 'too-long', durationMs: 8 * HOUR });
    await unchanged(long);
    assert.equal((await store.approve(long, 'UA', NOW, asRequested(long))).ok, true, 'recorded under the old limit');
    assert.deepEqual(codeOf(await store.approve(long, 'UB', NOW, tighter)), { ok: false, code: 'too-long', durationMs: 8 * HOUR });
    assert.equal((await store.get(long.id))?.state, 'pending', 'the last approval does not activate it either');

    // Approvals raised from 1 to 3: this one is recorded, two more are needed, and the request shows 3.
    const raised = await made('rraised');
    const three = asRequested(raised, { requiredApprovals: 3 });
    assert.deepEqual(codeOf(await store.approve(raised, 'UA', NOW, three)), { ok: true, value: { activated: false, approvals: 1, required: 3 } });
    assert.equal((await store.get(raised.id))?.requiredApprovals, 3);
    assert.deepEqual(codeOf(await store.approve(raised, 'UB', NOW, three)), { ok: true, value: { activated: false, approvals: 2, required: 3 } });
    assert.deepEqual(codeOf(await store.approve(raised, 'UC', NOW, three)), { ok: true, value: { activated: true, expiresAt: NOW + HOUR } });

    // Lowered from 2 to 1: the current policy decides, so the first approval activates.
    const lowered = await made('rlowered', { requiredApprovals: 2 });
    assert.deepEqual(codeOf(await store.approve(lowered, 'UA', NOW, asRequested(lowered, { requiredApprovals: 1 }))), { ok: true, value: { activated: true, expiresAt: NOW + HOUR } });
  });

  it('refuses, before any write, a move the generic script must not make or an event the table does not name', async () => {
    const store = new RequestStore(db.redis);
    const req = draft('rguard');
    await store.create(req, { type: 'requested', at: NOW, requestId: req.id });
    await assert.rejects(store.transition(req, 'active', { type: 'activated', at: NOW }), /only through its last approval/);
    await assert.rejects(store.transition(req, 'denied', { type: 'cancelled', at: NOW }), /a move to denied records denied, not cancelled/);
    await assert.rejects(store.transition(req, 'pending', { type: 'requested', at: NOW }), /a move to pending records nothing/);
    assert.equal((await store.get(req.id))?.state, 'pending');
    assert.equal(await db.redis.xlen(store.keys.auditStream), 1, 'only the request event');
  });

  it('is sent as EVALSHA once loaded, and loaded again after the server forgot it (NOSCRIPT)', async () => {
    const client = new Redis(db.url);
    try {
      const store = new RequestStore(client);
      await store.appendAudit({ type: 'refused', at: NOW });
      const before = await commandCalls(db.redis, 'evalsha');
      await store.appendAudit({ type: 'refused', at: NOW });
      await store.appendAudit({ type: 'refused', at: NOW });
      assert.equal((await commandCalls(db.redis, 'evalsha')) - before, 2);
      await db.redis.script('FLUSH');
      await store.appendAudit({ type: 'refused', at: NOW });
      assert.equal(await db.redis.xlen(store.keys.auditStream), 4);
    } finally {
      client.disconnect();
    }
  });

  it('decodes replies by name, and refuses a reply the spec does not name', async () => {
    assert.deepEqual(decodeReply('transition', ['ok', 'pending']), { status: 'ok', from: 'pending' });
    assert.deepEqual(decodeReply('approve', ['self']), { status: 'self' });
    assert.deepEqual(decodeReply('approve', ['too-late', '5']), { status: 'too-late', deadline: '5' });
    assert.throws(() => decodeReply('transition', ['done']), /transition gave an unexpected reply: \["done"\]/);
    assert.throws(() => decodeReply('transition', ['ok']), /unexpected reply/);
    assert.throws(() => decodeReply('rate-limit', 1), /unexpected reply: 1/);
    const r = await runScript(db.redis, 'rate-limit', { window: '{jit}:w', notice: '{jit}:n' }, { now: NOW, windowMs: 1000, limit: 1, member: 'm' });
    assert.deepEqual(r, { status: 'ok', count: '1' });
  });
});

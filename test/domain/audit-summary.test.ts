// `/jump audit`: reading the command, and folding audit events into the summary (pure, no clock, no Redis).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AuditEvent } from '../../src/domain/audit-event.ts';
import { parseAuditSince, sinceAt } from '../../src/domain/audit-since.ts';
import { AuditTally, completeFromRecords, type AuditScope, type GrantRecord } from '../../src/domain/audit-summary.ts';
import { DEFAULT_AUDIT_WINDOW_MS, parseCommand } from '../../src/domain/command.ts';
import { FC_RUNS } from './fixtures.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

describe('/jump audit: reading the command', () => {
  it('takes an optional host or @person, then an optional since (default 7d)', () => {
    const week = { kind: 'ago', ms: DEFAULT_AUDIT_WINDOW_MS };
    assert.equal(DEFAULT_AUDIT_WINDOW_MS, 7 * DAY);
    assert.deepEqual(parseCommand('audit'), { kind: 'audit', since: week });
    assert.deepEqual(parseCommand('AUDIT db-prod-1'), { kind: 'audit', host: 'db-prod-1', since: week });
    assert.deepEqual(parseCommand('audit 30d'), { kind: 'audit', since: { kind: 'ago', ms: 30 * DAY } });
    assert.deepEqual(parseCommand('audit 24h'), { kind: 'audit', since: { kind: 'ago', ms: DAY } });
    assert.deepEqual(parseCommand('audit 2026-11-01'), { kind: 'audit', since: { kind: 'at', at: Date.UTC(2026, 10, 1) } });
    assert.deepEqual(parseCommand('audit db-prod-1 30d'), { kind: 'audit', host: 'db-prod-1', since: { kind: 'ago', ms: 30 * DAY } });
    assert.deepEqual(parseCommand('audit <@U0ERIN|erin> 2026-11-01'), { kind: 'audit', person: 'U0ERIN', since: { kind: 'at', at: Date.UTC(2026, 10, 1) } });
    assert.deepEqual(parseCommand('audit <@U0ERIN>'), { kind: 'audit', person: 'U0ERIN', since: week });
    assert.deepEqual(parseCommand('  audit   <@W0ERIN|erin>   7d  '), { kind: 'audit', person: 'W0ERIN', since: { kind: 'ago', ms: 7 * DAY } });
  });

  it('refuses what it cannot read with a specific code, naming the word', () => {
    assert.deepEqual(parseCommand('audit db-prod-1 yesterday'), { kind: 'invalid', code: 'audit-bad-since', params: { text: 'yesterday' } });
    assert.deepEqual(parseCommand('audit 7x'), { kind: 'invalid', code: 'audit-bad-since', params: { text: '7x' } });
    assert.deepEqual(parseCommand('audit 2026-02-30'), { kind: 'invalid', code: 'audit-bad-since', params: { text: '2026-02-30' } }, 'a day that does not exist');
    assert.deepEqual(parseCommand('audit 2026-11-01T10:00'), { kind: 'invalid', code: 'audit-bad-since', params: { text: '2026-11-01T10:00' } }, 'a time without its zone');
    assert.deepEqual(parseCommand('audit @erin'), { kind: 'invalid', code: 'audit-bad-person', params: { text: '@erin' } });
    assert.deepEqual(parseCommand('audit <#C0GENERAL|general>'), { kind: 'invalid', code: 'audit-bad-person', params: { text: '<#C0GENERAL|general>' } });
    assert.deepEqual(parseCommand('audit db-prod-1 7d and more'), { kind: 'invalid', code: 'audit-bad-arguments', params: { text: 'and more' } });
  });

  it('reads a since as a duration back, a UTC date, or a time with its zone', () => {
    assert.deepEqual(parseAuditSince('90m'), { kind: 'ago', ms: 90 * 60_000 });
    assert.deepEqual(parseAuditSince('2026-11-01T08:30:00Z'), { kind: 'at', at: Date.UTC(2026, 10, 1, 8, 30) });
    assert.deepEqual(parseAuditSince('2026-11-01T08:30+02:00'), { kind: 'at', at: Date.UTC(2026, 10, 1, 6, 30) });
    for (const bad of ['', '0d', '-7d', '7', 'd7', '2026-13-01', '2026-11-01T24:00Z', '2026-11-1', 'last week']) assert.equal(parseAuditSince(bad), undefined, bad);
    assert.equal(sinceAt({ kind: 'ago', ms: DAY }, T0), T0 - DAY);
    assert.equal(sinceAt({ kind: 'at', at: 5 }, T0), 5);
  });

  it('any valid date round-trips; any other word of digits and dashes is refused, never read as a host', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(Date.UTC(1970, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), (d) => {
        const day = d.toISOString().slice(0, 10);
        const cmd = parseCommand(`audit ${day}`);
        assert.deepEqual(cmd, { kind: 'audit', since: { kind: 'at', at: Date.parse(`${day}T00:00:00Z`) } });
      }),
      { numRuns: Math.min(FC_RUNS, 500) },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^\d{4}-[0-9-]{1,8}$/), (word) => {
        const cmd = parseCommand(`audit ${word}`);
        assert.ok(cmd.kind === 'audit' ? cmd.host === undefined && cmd.since.kind === 'at' : cmd.kind === 'invalid' && cmd.code === 'audit-bad-since', word);
      }),
      { numRuns: Math.min(FC_RUNS, 500) },
    );
  });
});

// ---- summarising ----

const ev = (type: AuditEvent['type'], at: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({ type, at, ...extra });
const on = (id: string, host: string, requester: string) => ({ requestId: id, host, requester });

/** A grant approved by `approvers`, active for `ms`, that ends as `end` (or stays active). */
function grant(id: string, host: string, requester: string, at: number, o: { approvers?: string[]; ms?: number; end?: 'expired' | 'revoked'; by?: string } = {}): AuditEvent[] {
  const ms = o.ms ?? 3_600_000;
  const approvers = o.approvers ?? ['U0ALICE'];
  const base = on(id, host, requester);
  return [
    ev('requested', at, { ...base, actor: requester, durationMs: ms }),
    ...approvers.slice(0, -1).map((a, i) => ev('approval-recorded', at + 1 + i, { ...base, actor: a })),
    ev('approved', at + 10, { ...base, actor: approvers[approvers.length - 1] }),
    ev('activated', at + 10, { ...base, actor: approvers[approvers.length - 1], durationMs: ms, expiresAt: at + 10 + ms }),
    ...(o.end ? [ev(o.end, at + 20, { ...base, ...(o.by ? { actor: o.by } : {}) })] : []),
  ];
}

function summarise(events: readonly AuditEvent[], scope: AuditScope = {}) {
  const t = new AuditTally(scope);
  for (const e of events) t.add(e);
  return t.summary();
}

describe('/jump audit: the summary of a window', () => {
  it('one row per grant, newest first: who asked, who approved, the time granted (extensions too), how it ended', () => {
    const events = [
      ...grant('r1', 'db-1', 'U0ENG', T0, { approvers: ['U0ALICE', 'U0BOB'], end: 'expired' }),
      ...grant('r2', 'web-1', 'U0ENG', T0 + 100, { end: 'revoked', by: 'U0ALICE' }),
      ev('extended', T0 + 50, { ...on('r1', 'db-1', 'U0ENG'), actor: 'U0ALICE', durationMs: 1_800_000 }),
      ...grant('r3', 'web-1', 'U0MAL', T0 + 200),
    ];
    const s = summarise(events);
    assert.deepEqual(
      s.grants.map((g) => [g.id, g.host, g.requester, g.approval, g.grantedMs, g.end?.state, g.end?.by]),
      [
        ['r3', 'web-1', 'U0MAL', { kind: 'owners', by: ['U0ALICE'] }, 3_600_000, undefined, undefined],
        ['r2', 'web-1', 'U0ENG', { kind: 'owners', by: ['U0ALICE'] }, 3_600_000, 'revoked', 'U0ALICE'],
        ['r1', 'db-1', 'U0ENG', { kind: 'owners', by: ['U0ALICE', 'U0BOB'] }, 5_400_000, 'expired', undefined],
      ],
    );
    assert.equal(s.grants[0]!.expiresAt, T0 + 210 + 3_600_000);
  });

  it('counts refusals by code (most first), denials, break-glass uses and those not acknowledged; auto-approvals say so', () => {
    const bg = (id: string, at: number) => [
      ev('break-glass', at, { ...on(id, 'db-1', 'U0ONCALL'), actor: 'U0ONCALL', durationMs: 600_000 }),
      ...grant(id, 'db-1', 'U0ONCALL', at, { approvers: ['jit-jump'] }).filter((e) => e.type !== 'requested'),
    ];
    const events = [
      ...bg('rbg1', T0),
      ...bg('rbg2', T0 + 1000),
      ev('break-glass-acknowledged', T0 + 2000, { ...on('rbg1', 'db-1', 'U0ONCALL'), actor: 'U0ALICE' }),
      ev('requested', T0 + 3000, { ...on('rauto', 'web-1', 'U0ENG'), actor: 'U0ENG' }),
      ev('auto-approved', T0 + 3000, { ...on('rauto', 'web-1', 'U0ENG'), actor: 'jit-jump', detail: 'auto-approved (rule 2)' }),
      ev('activated', T0 + 3000, { ...on('rauto', 'web-1', 'U0ENG'), actor: 'jit-jump', durationMs: 60_000 }),
      ev('denied', T0 + 4000, { ...on('rden', 'db-1', 'U0ENG'), actor: 'U0ALICE' }),
      ev('refused', T0 + 5000, { actor: 'U0MAL', code: 'not-owner', ...on('r9', 'db-1', 'U0ENG') }),
      ev('refused', T0 + 5001, { actor: 'U0MAL', code: 'not-owner', ...on('r9', 'db-1', 'U0ENG') }),
      ev('refused', T0 + 5002, { actor: 'U0MAL', code: 'rate-limited' }),
      ev('key-added', T0 + 6000, { actor: 'U0ENG' }),
      ev('jump-host-alert', T0 + 6001, { host: 'bastion', detail: 'unreachable' }),
    ];
    const s = summarise(events);
    assert.deepEqual(
      s.grants.map((g) => [g.id, g.approval]),
      [
        ['rauto', { kind: 'auto' }],
        ['rbg2', { kind: 'break-glass' }],
        ['rbg1', { kind: 'break-glass', acknowledgedBy: 'U0ALICE' }],
      ],
    );
    assert.deepEqual(s.breakGlass, { uses: 2, awaitingAcknowledgement: 1 });
    assert.deepEqual(s.refusals, [{ code: 'not-owner', count: 2 }, { code: 'rate-limited', count: 1 }]);
    assert.equal(s.denials, 1);
  });

  it('a scope of hosts leaves out other hosts and hostless refusals; a person scope keeps their grants and their own refusals', () => {
    const events = [
      ...grant('r1', 'db-1', 'U0ENG', T0),
      ...grant('r2', 'web-1', 'U0ENG', T0 + 100),
      ...grant('r3', 'web-1', 'U0MAL', T0 + 200),
      ev('refused', T0 + 300, { actor: 'U0MAL', code: 'not-owner', ...on('r1', 'db-1', 'U0ENG') }),
      ev('refused', T0 + 301, { actor: 'U0ENG', code: 'rate-limited' }),
      ev('denied', T0 + 302, { ...on('r4', 'web-1', 'U0MAL'), actor: 'U0ALICE' }),
    ];
    const web = summarise(events, { hosts: new Set(['web-1']) });
    assert.deepEqual(web.grants.map((g) => g.id), ['r3', 'r2']);
    assert.deepEqual([web.refusals, web.denials], [[], 1]);
    const eng = summarise(events, { person: 'U0ENG' });
    assert.deepEqual(eng.grants.map((g) => g.id), ['r2', 'r1']);
    assert.deepEqual([eng.refusals, eng.denials], [[{ code: 'rate-limited', count: 1 }], 0], 'the refusal Mallory got on Erin’s request is Mallory’s');
    const engOnDb = summarise(events, { person: 'U0ENG', hosts: new Set(['db-1']) });
    assert.deepEqual(engOnDb.grants.map((g) => g.id), ['r1']);
    assert.deepEqual(summarise(events, { person: 'U0MAL' }).refusals, [{ code: 'not-owner', count: 1 }]);
  });

  it('a grant activated before the window shows through its later events, and its record completes it', () => {
    const events = [ev('revoked', T0, { ...on('rold', 'db-1', 'U0ENG'), actor: 'U0ENG' })];
    const s = summarise(events);
    assert.deepEqual(s.grants.map((g) => [g.id, g.approval.kind, g.grantedMs, g.end]), [['rold', 'unknown', 0, { state: 'revoked', at: T0, by: 'U0ENG' }]]);
    const record: GrantRecord = { id: 'rold', approvers: ['U0ALICE'], state: 'revoked', activatedAt: T0 - DAY, expiresAt: T0 - DAY + 7_200_000, endedAt: T0, decidedBy: 'U0ENG' };
    const done = completeFromRecords(s, new Map([['rold', record]]));
    assert.deepEqual(done.grants.map((g) => [g.approval, g.grantedMs, g.activatedAt, g.end?.state]), [[{ kind: 'owners', by: ['U0ALICE'] }, 7_200_000, T0 - DAY, 'revoked']]);
  });

  it('the record names an auto-approval’s rule, a later acknowledgement, and an end after the window’s events', () => {
    const s = summarise([
      ev('break-glass', T0, { ...on('rbg', 'db-1', 'U0ONCALL'), actor: 'U0ONCALL' }),
      ev('activated', T0, { ...on('rbg', 'db-1', 'U0ONCALL'), actor: 'jit-jump', durationMs: 600_000 }),
      ev('auto-approved', T0 + 1, { ...on('rauto', 'web-1', 'U0ENG'), actor: 'jit-jump' }),
      ev('activated', T0 + 1, { ...on('rauto', 'web-1', 'U0ENG'), actor: 'jit-jump', durationMs: 60_000 }),
    ]);
    assert.deepEqual(s.breakGlass, { uses: 1, awaitingAcknowledgement: 1 });
    const records = new Map<string, GrantRecord>([
      ['rbg', { id: 'rbg', approvers: ['jit-jump'], reviewBy: T0 + DAY, acknowledgedBy: 'U0ALICE', state: 'expired', activatedAt: T0, expiresAt: T0 + 600_000, endedAt: T0 + 600_000 }],
      ['rauto', { id: 'rauto', approvers: ['jit-jump'], autoApproved: 2, state: 'active', activatedAt: T0 + 1, expiresAt: T0 + 60_001 }],
    ]);
    const done = completeFromRecords(s, records);
    assert.deepEqual(
      done.grants.map((g) => [g.id, g.approval, g.end?.state]),
      [
        ['rauto', { kind: 'auto', rule: 2 }, undefined],
        ['rbg', { kind: 'break-glass', acknowledgedBy: 'U0ALICE' }, 'expired'],
      ],
    );
    assert.deepEqual(done.breakGlass, { uses: 1, awaitingAcknowledgement: 0 });
  });

  it('whatever the events and their order: each grant once, totals add up, nothing outside the scope', () => {
    const hosts = ['db-1', 'web-1', 'cache-1'];
    const people = ['U0A', 'U0B', 'U0C'];
    const types: AuditEvent['type'][] = ['requested', 'approval-recorded', 'approved', 'auto-approved', 'activated', 'extended', 'expired', 'revoked', 'denied', 'refused', 'break-glass', 'break-glass-acknowledged', 'connection', 'key-added', 'jump-host-alert'];
    const event = fc.record({
      type: fc.constantFrom(...types),
      at: fc.integer({ min: T0, max: T0 + DAY }),
      requestId: fc.option(fc.constantFrom('r1', 'r2', 'r3', 'r4'), { nil: undefined }),
      host: fc.option(fc.constantFrom(...hosts), { nil: undefined }),
      requester: fc.option(fc.constantFrom(...people), { nil: undefined }),
      actor: fc.option(fc.constantFrom(...people, 'jit-jump'), { nil: undefined }),
      durationMs: fc.option(fc.integer({ min: 0, max: DAY }), { nil: undefined }),
      code: fc.option(fc.constantFrom('not-owner' as const, 'rate-limited' as const), { nil: undefined }),
    });
    const scope = fc.record({ hosts: fc.option(fc.subarray(hosts).map((h) => new Set(h)), { nil: undefined }), person: fc.option(fc.constantFrom(...people), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), scope, (events, sc) => {
        const clean = events.map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as unknown as AuditEvent);
        const s = summarise(clean, sc);
        const ids = s.grants.map((g) => g.id);
        assert.equal(new Set(ids).size, ids.length, 'each grant once');
        for (const g of s.grants) {
          if (sc.hosts) assert.ok(sc.hosts.has(g.host), `host ${g.host} outside the scope`);
          if (sc.person) assert.equal(g.requester, sc.person);
          assert.ok(g.grantedMs >= 0);
        }
        const inScope = clean.filter((e) => (!sc.hosts || (e.host !== undefined && sc.hosts.has(e.host))) && (!sc.person || (e.type === 'refused' ? e.actor : e.requester) === sc.person));
        assert.equal(s.refusals.reduce((n, r) => n + r.count, 0), inScope.filter((e) => e.type === 'refused').length);
        assert.equal(s.denials, inScope.filter((e) => e.type === 'denied').length);
        assert.ok(s.breakGlass.awaitingAcknowledgement <= s.breakGlass.uses && s.breakGlass.uses <= s.grants.length);
        for (let i = 1; i < s.grants.length; i++) assert.ok((s.grants[i - 1]!.activatedAt ?? 0) >= (s.grants[i]!.activatedAt ?? 0), 'newest first');
      }),
      { numRuns: Math.min(FC_RUNS, 1000) },
    );
  });
});

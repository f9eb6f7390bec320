// `/jump audit`: who may read which part of the audit trail (auditors everything, owners their hosts, nobody
// else), what the summary holds after real use cases ran, and fail-closed group lookups.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import type { AuditSummaryReply, Reply } from '../../src/service/replies.ts';
import { ALICE, BOB, CAROL, ENG, HOUR, MALLORY, inMemoryService, unitPolicy } from '../support/in-memory/service.ts';

const AUDITOR = 'U0AUDIT';
const DAY = 24 * HOUR;

/** Erin's grant on web-1 (approved by Alice) and on db-1 (Alice and Bob), a denial on web-1, Mallory refused on db-1. */
async function setup(o: Parameters<typeof inMemoryService>[0] = {}) {
  const h = inMemoryService({ rateLimited: false, policy: unitPolicy({ auditors: [AUDITOR, 'S0CACHE'], limits: { maxPendingRequests: 5 } }), ...o });
  await h.registerKey(ENG);
  const web = await h.request(ENG, 'web-1 1h');
  await h.run(h.service.approve(web, ALICE));
  await h.service.completeActivation(web);
  h.clock.advance(1000);
  const db = await h.request(ENG, 'db-1 2h fix replication');
  assert.equal((await h.service.approve(db, MALLORY)).reply?.kind, 'refused', 'Mallory owns nothing: refused, audited');
  await h.run(h.service.approve(db, ALICE));
  await h.run(h.service.approve(db, BOB));
  await h.service.completeActivation(db);
  const denied = await h.request(ENG, 'web-1 1h again');
  await h.run(h.service.deny(denied, ALICE, 'not now'));
  h.clock.advance(60_000);
  const audit = async (user: string, text = 'audit') => (await h.run(h.service.command(user, text))).reply as Reply;
  const summary = async (user: string, text = 'audit') => {
    const r = await audit(user, text);
    assert.equal(r.kind, 'audit-summary', JSON.stringify(r));
    return r as AuditSummaryReply;
  };
  return { h, web, db, audit, summary };
}

const rows = (r: AuditSummaryReply) => r.summary.grants.map((g) => [g.id, g.host, g.requester, g.approval]);

describe('/jump audit', () => {
  it('an auditor sees every host: each grant with who approved, refusals by code, denials', async () => {
    const { web, db, summary } = await setup();
    const r = await summary(AUDITOR);
    assert.deepEqual(rows(r), [
      [db, 'db-1', ENG, { kind: 'owners', by: [ALICE, BOB] }],
      [web, 'web-1', ENG, { kind: 'owners', by: [ALICE] }],
    ]);
    assert.deepEqual(r.summary.refusals, [{ code: 'not-owner', count: 1 }]);
    assert.equal(r.summary.denials, 1);
    assert.equal(r.summary.grants[0]!.grantedMs, 2 * HOUR);
    assert.equal(r.ownHosts, undefined, 'not narrowed to owned hosts');
    assert.equal(r.untilMs - r.sinceMs, 7 * DAY, 'the last 7 days by default');
  });

  it('an auditor through a user group reads hosts they do not own; a host or a person narrows it', async () => {
    const { web, db, summary } = await setup();
    assert.deepEqual(rows(await summary(CAROL)).map(([id]) => id), [db, web], 'Carol is an auditor through S0CACHE');
    assert.deepEqual(rows(await summary(AUDITOR, 'audit web-1')).map(([id]) => id), [web]);
    assert.deepEqual(rows(await summary(AUDITOR, `audit <@${MALLORY}|mallory>`)), []);
    const mallory = await summary(AUDITOR, `audit <@${MALLORY}>`);
    assert.deepEqual(mallory.summary.refusals, [{ code: 'not-owner', count: 1 }], 'the refusal Mallory got');
    assert.deepEqual(rows(await summary(AUDITOR, `audit <@${ENG}|erin> 30d`)).map(([id]) => id), [db, web]);
  });

  it('an owner sees only the hosts they own: a person there, and is refused another host', async () => {
    const { h, web, db, audit, summary } = await setup();
    const bob = await summary(BOB);
    assert.deepEqual(rows(bob).map(([id]) => id), [db], 'Bob owns db-1 only');
    assert.deepEqual(bob.ownHosts, ['db-1']);
    assert.equal(bob.summary.denials, 0, 'the denial was on web-1');
    assert.deepEqual(bob.summary.refusals, [{ code: 'not-owner', count: 1 }], 'Mallory was refused on db-1');
    assert.deepEqual(rows(await summary(BOB, `audit <@${ENG}>`)).map(([id]) => id), [db], 'Erin’s grants on Bob’s hosts only');
    assert.deepEqual(rows(await summary(ALICE)).map(([id]) => id), [db, web]);
    const before = h.audit.length;
    assert.deepEqual(await audit(BOB, 'audit web-1'), { kind: 'refused', code: 'not-auditor', params: { host: 'web-1' } });
    assert.deepEqual(h.audit.slice(before), [{ type: 'refused', at: h.clock.now(), actor: BOB, code: 'not-auditor', detail: 'audit: neither an auditor nor an owner of web-1' }]);
  });

  it('anyone else is refused, audited, and nothing else happens', async () => {
    const { h, audit } = await setup();
    const before = h.audit.length;
    const requests = h.requests.requests.size;
    assert.deepEqual(await audit(MALLORY), { kind: 'refused', code: 'not-auditor', params: {} });
    assert.deepEqual(await audit(MALLORY, 'audit db-1 30d'), { kind: 'refused', code: 'not-auditor', params: { host: 'db-1' } });
    assert.deepEqual(h.audit.slice(before).map((e) => [e.type, e.actor, e.code]), [
      ['refused', MALLORY, 'not-auditor'],
      ['refused', MALLORY, 'not-auditor'],
    ]);
    assert.equal(h.requests.requests.size, requests);
  });

  it('fails closed when the auditors’ user group cannot be listed: refused (audited), except someone named directly', async () => {
    const { h, db, audit, summary } = await setup();
    h.owners.groupsUnavailable = true;
    const before = h.audit.length;
    assert.deepEqual(await audit(CAROL), { kind: 'refused', code: 'auditors-unavailable', params: {} });
    assert.deepEqual(await audit(ALICE), { kind: 'refused', code: 'auditors-unavailable', params: {} }, 'not shown less than they may see');
    assert.deepEqual(h.audit.slice(before).map((e) => [e.actor, e.code]), [
      [CAROL, 'auditors-unavailable'],
      [ALICE, 'auditors-unavailable'],
    ]);
    assert.ok(rows(await summary(AUDITOR)).some(([id]) => id === db), 'a directly named auditor needs no lookup');
  });

  it('an owner group that cannot be listed counts as not theirs', async () => {
    const h = inMemoryService({ rateLimited: false, policy: unitPolicy() });
    h.owners.groupsUnavailable = true;
    assert.deepEqual((await h.service.command(CAROL, 'audit cache-1')).reply, { kind: 'refused', code: 'not-auditor', params: { host: 'cache-1' } });
  });

  it('reads the window asked for: older events are left out; a since in the future or unreadable is refused', async () => {
    const { h, web, audit, summary } = await setup();
    h.clock.advance(8 * DAY);
    assert.deepEqual(rows(await summary(AUDITOR)), [], 'older than 7 days');
    assert.deepEqual(rows(await summary(AUDITOR, 'audit web-1 30d')).map(([id]) => id), [web]);
    const day = new Date(h.clock.now() - 9 * DAY).toISOString().slice(0, 10);
    assert.deepEqual(rows(await summary(AUDITOR, `audit ${day}`)).map(([id]) => id).length, 2);
    const future = new Date(h.clock.now() + 2 * DAY).toISOString().slice(0, 10);
    assert.deepEqual(await audit(AUDITOR, `audit ${future}`), { kind: 'refused', code: 'audit-since-future', params: { at: Date.parse(future) } });
    assert.deepEqual(await audit(AUDITOR, 'audit web-1 lastweek'), { kind: 'refused', code: 'audit-bad-since', params: { text: 'lastweek' } });
  });

  it('completes each grant from its record: its end, and the time it was used where the log is read', async () => {
    const measured: string[] = [];
    const usage = {
      usage: async () => 'used',
      measure: async (g: AccessRequest) => (measured.push(g.id), g.host === 'db-1' ? { connections: 2, usedMs: 14 * 60_000 } : undefined),
    };
    const { h, web, db, summary } = await setup({ usage });
    await h.run(h.service.command(ENG, `revoke ${web}`));
    const r = await summary(AUDITOR);
    assert.deepEqual(r.usage, { [db]: { connections: 2, usedMs: 14 * 60_000 } });
    assert.deepEqual(measured.sort(), [db, web].sort());
    const revoked = r.summary.grants.find((g) => g.id === web)!;
    assert.deepEqual([revoked.end?.state, revoked.end?.by], ['revoked', ENG]);
    assert.equal(r.summary.grants.find((g) => g.id === db)!.end, undefined, 'still active');
  });

  it('/jump help lists the command for auditors and owners only', async () => {
    const { audit } = await setup();
    for (const [user, listed] of [[AUDITOR, true], [ALICE, true], [CAROL, true], [ENG, false], [MALLORY, false]] as const) {
      const r = await audit(user, 'help');
      assert.equal(r.kind === 'help' && r.audit === true, listed, user);
    }
  });
});

// What refusals, decisions and ends leave behind, against in-memory ports: the audit event's actor, code and
// detail, the log line, the stored fields, and the replies of store-side races (a request moved on between
// the read and the write). Each assertion here pins a behaviour a StrykerJS mutant of src/service left alive.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { refuse } from '../../src/domain/result.ts';
import { ALICE, BOB, ENG, HOUR, inMemoryService, MALLORY, publicKeyLine, unitPolicy, staleOnce, type Harness } from '../support/in-memory/service.ts';

const logged = (h: Harness, msg: string) => h.logs.filter((l) => l.msg === msg).map((l) => [l.level, l.obj]);

describe('audited refusals', () => {
  let h: Harness;
  let id: string;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
    id = await h.request(ENG, 'db-1 30m fix replication');
  });

  it('logs a refused action with the request, the actor, the action and the code', async () => {
    await h.service.approve(id, MALLORY);
    assert.deepEqual(logged(h, 'action refused'), [['info', { requestId: id, actor: MALLORY, action: 'approve', code: 'not-owner' }]]);
  });

  it('logs and audits a caller refusal with the action and the detail', async () => {
    await h.service.refuseCaller(MALLORY, 'slack-request', 'rate-limited', 'forged response_url');
    assert.deepEqual(logged(h, 'caller refused'), [['info', { actor: MALLORY, action: 'slack-request', code: 'rate-limited', detail: 'forged response_url' }]]);
    assert.deepEqual(h.audit.at(-1), { type: 'refused', at: h.clock.now(), actor: MALLORY, code: 'rate-limited', detail: 'slack-request: forged response_url' });
  });

  it('audits a request rate limit as a refused request, naming requests', async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
    for (let i = 0; i < 5; i++) {
      const r = await h.request(ENG, 'web-1 30m');
      await h.service.command(ENG, `revoke ${r}`);
    }
    assert.equal((await h.service.command(ENG, 'request web-1 30m')).reply?.kind, 'rate-limited');
    const audited = h.audit.filter((e) => e.code === 'rate-limited').map((e) => [e.actor, e.detail]);
    assert.deepEqual(audited, [[ENG, 'request: rate limit: more than 5 requests per 1h']]);
  });

  it('audits a key-change rate limit as a refused key-add, naming key changes', async () => {
    h = inMemoryService();
    for (let i = 0; i < 3; i++) await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`));
    assert.equal((await h.service.command(ENG, `key add ${publicKeyLine()}`)).reply?.kind, 'rate-limited');
    const audited = h.audit.filter((e) => e.code === 'rate-limited').map((e) => [e.actor, e.detail]);
    assert.deepEqual(audited, [[ENG, 'key-add: rate limit: more than 3 key changes per 1h']]);
  });

  it('audits an outsider’s revoke of a pending request as a refused cancel, of a grant as a refused revoke', async () => {
    await h.service.command(MALLORY, `revoke ${id}`);
    const web = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(web, ALICE));
    assert.equal((await h.requests.get(web))?.state, 'active');
    await h.service.command(MALLORY, `revoke ${web}`);
    const refused = h.audit.filter((e) => e.type === 'refused').map((e) => [e.requestId, e.detail?.split(':')[0]]);
    assert.deepEqual(refused, [[id, 'cancel'], [web, 'revoke']]);
    assert.deepEqual(h.logs.filter((l) => l.msg === 'action refused').map((l) => (l.obj as { action: string }).action), ['cancel', 'revoke']);
  });
});

describe('ends and decisions: audit events and stored fields', () => {
  let h: Harness;
  let id: string;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
    id = await h.request(ENG, 'db-1 30m fix replication');
  });

  it('an owner’s cancel is audited with the owner as actor', async () => {
    await h.run(h.service.command(ALICE, `revoke ${id}`));
    assert.deepEqual(h.audit.filter((e) => e.type === 'cancelled').map((e) => e.actor), [ALICE]);
  });

  it('an owner’s revoke is audited with the owner as actor and stores who ended it and when', async () => {
    await h.run(h.service.approve(id, ALICE));
    await h.run(h.service.approve(id, BOB));
    h.clock.advance(60_000);
    await h.run(h.service.command(ALICE, `revoke ${id}`));
    assert.deepEqual(h.audit.filter((e) => e.type === 'revoked').map((e) => e.actor), [ALICE]);
    const req = await h.requests.get(id);
    assert.deepEqual([req?.state, req?.decidedBy, req?.endedAt], ['revoked', ALICE, h.clock.now()]);
  });

  it('a cancel that loses the race to a deny answers with the state it found', async () => {
    const stale = (await h.requests.get(id))!;
    await h.run(h.service.deny(id, ALICE, 'not now'));
    staleOnce(h, stale);
    assert.deepEqual((await h.service.command(ENG, `revoke ${id}`)).reply, { kind: 'already', state: 'denied' });
  });

  it('a deny is audited with the owner and the reason', async () => {
    await h.run(h.service.deny(id, ALICE, '  not during the freeze  '));
    assert.deepEqual(h.audit.filter((e) => e.type === 'denied').map((e) => [e.actor, e.reason]), [[ALICE, 'not during the freeze']]);
  });

  it('a deny that loses the race to a cancel answers with the state it found and tells nobody', async () => {
    const stale = (await h.requests.get(id))!;
    await h.run(h.service.command(ENG, `revoke ${id}`));
    staleOnce(h, stale);
    const out = await h.service.deny(id, ALICE, 'no');
    assert.deepEqual(out.reply, { kind: 'already', state: 'cancelled' });
    assert.equal(out.after, undefined);
    assert.equal(h.notifier.of('requestDenied', id).length, 0);
  });

  it('an outsider approving a decided request is refused as an outsider (audited), not told its state', async () => {
    await h.run(h.service.deny(id, ALICE, 'no'));
    const out = await h.service.approve(id, MALLORY);
    assert.equal(out.reply?.kind === 'refused' && out.reply.code, 'not-owner');
    assert.deepEqual(h.audit.filter((e) => e.type === 'refused').map((e) => [e.actor, e.code]), [[MALLORY, 'not-owner']]);
  });

  it('an approval past the deadline is audited with the deadline', async () => {
    const createdAt = (await h.requests.get(id))!.createdAt;
    h.clock.advance(HOUR);
    await h.service.approve(id, ALICE);
    assert.deepEqual(
      h.audit.filter((e) => e.type === 'refused').map((e) => e.detail),
      [`approve: past the approval deadline ${new Date(createdAt + HOUR).toISOString()}`],
    );
  });

  const overMax = () => {
    const policy = unitPolicy({ hosts: [{ name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: [ALICE, BOB], maxDuration: '1h', approvals: 2 }] });
    return h.restartedWith(policy);
  };

  it('a request over the new maximum is audited with both durations, and denied by the owner with that detail', async () => {
    const long = await h.request(ENG, 'db-1 2h long job');
    await h.run(overMax().approve(long, ALICE));
    const detail = 'asks for 2h, maxDuration of db-1 is now 1h';
    const mine = h.audit.filter((e) => e.requestId === long);
    assert.deepEqual(mine.filter((e) => e.type === 'refused').map((e) => e.detail), [`approve: ${detail}`]);
    assert.deepEqual(mine.filter((e) => e.type === 'denied').map((e) => [e.actor, e.detail]), [[ALICE, detail]]);
  });

  it('a request over the new maximum that was cancelled meanwhile is refused without a follow-up', async () => {
    const long = await h.request(ENG, 'db-1 2h long job');
    // the store answers conflict for a cancelled request; to reach the too-long branch answer as a store that
    // read the request before the cancel
    h.requests.approve = async (req) => {
      await h.requests.transition(req, 'cancelled', { type: 'cancelled', at: h.clock.now(), requestId: req.id });
      return { ...refuse('too-long', 'over maxDuration'), durationMs: req.durationMs };
    };
    const out = await overMax().approve(long, ALICE);
    assert.deepEqual(out.reply, { kind: 'refused', code: 'approval-over-max-duration', params: { host: 'db-1', durationMs: 2 * HOUR, maxMs: HOUR } });
    assert.equal(out.after, undefined);
    assert.equal((await h.requests.get(long))?.state, 'cancelled');
  });

  it('answers the store’s own refusals of an approval (a request gone, own request, already approved)', async () => {
    const answers = [refuse('not-found', 'missing'), refuse('self-approval', 'self'), refuse('already-approved', 'duplicate')];
    h.requests.approve = async () => answers.shift()!;
    assert.deepEqual((await h.service.approve(id, ALICE)).reply, { kind: 'request-gone' });
    assert.deepEqual((await h.service.approve(id, ALICE)).reply, { kind: 'self-approval' });
    assert.deepEqual((await h.service.approve(id, ALICE)).reply, { kind: 'already-approved' });
    assert.deepEqual(h.audit.filter((e) => e.type === 'refused').map((e) => [e.actor, e.code, e.detail]), [[ALICE, 'self-approval', 'approve: own request']]);
  });

  it('a pending request behind a retired jump server is refused with the server named; a decided one is not', async () => {
    const web = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(web, ALICE));
    h.policy.jumpHosts[0]!.retired = true;
    await h.service.approve(id, ALICE);
    assert.deepEqual(h.audit.filter((e) => e.type === 'refused').map((e) => [e.requestId, e.code, e.detail]), [[id, 'jump-host-retired', 'approve: jump server bastion is retired']]);
    const again = await h.service.approve(web, ALICE);
    assert.notEqual(again.reply?.kind === 'refused' && again.reply.code, 'jump-host-retired');
    assert.equal(h.audit.filter((e) => e.code === 'jump-host-retired').length, 1);
  });
});

describe('requests and pasted private keys: audit and log', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  it('a request is audited with the requester as actor, its duration and its reason', async () => {
    const id = await h.request(ENG, 'db-1 30m fix replication');
    assert.deepEqual(
      h.audit.filter((e) => e.type === 'requested').map((e) => [e.requestId, e.actor, e.durationMs, e.reason]),
      [[id, ENG, 30 * 60_000, 'fix replication']],
    );
  });

  it('owners of a group that cannot be listed get no DM, and that is logged with the request', async () => {
    h.owners.groupsUnavailable = true;
    const id = await h.request(ENG, 'cache-1 30m warm up');
    assert.deepEqual(h.notifier.of('requestPending', id).map((n) => 'owners' in n && n.owners), [[]]);
    assert.deepEqual(
      h.logs.filter((l) => l.msg === 'owners not DMed: user group unavailable').map((l) => [l.level, l.obj]),
      [['warn', { requestId: id, host: 'cache-1', detail: 'groups unavailable' }]],
    );
  });

  it('a pasted private key is audited as a refused key-add that says the person was told to rotate it', async () => {
    await h.service.command(ENG, 'key add -----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----');
    assert.deepEqual(
      h.audit.filter((e) => e.type === 'refused').map((e) => [e.actor, e.code, e.detail]),
      [[ENG, 'private-key-pasted', 'key-add: a private key was pasted (not stored); the person was told to rotate it']],
    );
  });
});

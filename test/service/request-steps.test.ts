// The approval thread's story, against in-memory ports: each step of a request is told once, in the thread of
// every copy of its approval message, by the path that won the step's move; a retry, a rerun or a losing
// concurrent call tells nothing.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { RequestStep } from '../../src/domain/request-step.ts';
import { ALICE, BOB, ENG, HOUR, inMemoryService, MINUTE, publicKeyLine, unitPolicy, type Harness } from '../support/in-memory/service.ts';

describe('request steps in the approval thread', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  const steps = (id: string): RequestStep[] => h.notifier.of('requestStep', id).map((n) => ('step' in n ? n.step : ({} as never)));
  const kinds = (id: string) => steps(id).map((s) => s.kind);

  it('two approvals, activation, expiry: each told once, in every copy’s thread, with who and how many', async () => {
    const id = await h.request(ENG, 'db-1 1h fix replication');
    await h.run(h.service.approve(id, ALICE));
    await h.run(h.service.approve(id, ALICE)); // already approved: nothing to tell
    await h.run(h.service.approve(id, BOB));
    await h.service.completeActivation(id); // the reconciler's rerun: sent already, nothing to tell
    h.clock.advance(HOUR);
    await h.service.expire(id);
    await h.service.expire(id); // a retried job: the move is lost, nothing to tell
    assert.deepEqual(kinds(id), ['approved', 'activated', 'expired']);
    assert.deepEqual(steps(id)[0], { kind: 'approved', by: ALICE, approvals: 1, required: 2 });
    const told = h.notifier.of('requestStep', id);
    const refs = await h.requests.messageRefs(id);
    assert.deepEqual(refs.map((r) => r.channel), [`D${ALICE}`, `D${BOB}`]);
    for (const n of told) assert.deepEqual('refs' in n && n.refs, refs, 'every copy of the approval message');
    assert.deepEqual(told.map((n) => n.request.state), ['pending', 'active', 'expired'], 'worded from the request as it stands after the step');
  });

  it('concurrent ends of one grant (expiry and a revoke at once): one step', async () => {
    const id = await h.approvedGrant(ENG);
    await h.service.completeActivation(id);
    await Promise.all([h.service.expire(id), h.run(h.service.command(ENG, `revoke ${id}`)), h.service.expire(id)]);
    assert.equal(kinds(id).filter((k) => k !== 'activated').length, 1, kinds(id).join());
  });

  it('denied: told once with who denied; a second deny is refused and tells nothing', async () => {
    const id = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.deny(id, ALICE, 'use the replica'));
    await h.run(h.service.deny(id, ALICE, 'again'));
    assert.deepEqual(kinds(id), ['denied']);
    assert.equal(h.notifier.of('requestStep', id)[0]?.request.decidedBy, ALICE);
  });

  it('timed out, cancelled, revoked by I’m done: one step each', async () => {
    const late = await h.request(ENG, 'web-1 1h');
    await h.service.timeOut(late);
    await h.service.timeOut(late);
    assert.deepEqual(kinds(late), ['timed-out']);
    const cancelled = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.command(ENG, `revoke ${cancelled}`));
    assert.deepEqual(kinds(cancelled), ['cancelled']);
    const done = await h.approvedGrant(ENG);
    await h.service.completeActivation(done);
    await h.run(h.service.imDone(done, ENG));
    await h.run(h.service.imDone(done, ENG));
    assert.deepEqual(kinds(done), ['activated', 'revoked']);
  });

  it('a key change ends the grant and cancels the pending request: each thread hears of it', async () => {
    const grant = await h.approvedGrant(ENG);
    await h.service.completeActivation(grant);
    const pending = await h.request(ENG, 'db-1 1h why');
    await h.run(h.service.command(ENG, `key add ${publicKeyLine('new@laptop')}`));
    assert.deepEqual(kinds(grant), ['activated', 'revoked']);
    assert.deepEqual(kinds(pending), ['cancelled']);
    assert.equal(h.notifier.of('requestStep', grant).at(-1)?.request.endReason, 'key-changed');
  });

  it('a grant that could not be installed: the thread is told it was not activated', async () => {
    const id = await h.approvedGrant(ENG);
    h.sync.failures = 1;
    await h.service.completeActivation(id);
    assert.deepEqual(kinds(id), ['not-activated']);
  });

  it('extended: within selfExtend in the grant’s thread; by approval in the grant’s and the extension’s; a grant ended first cancels the extension once', async () => {
    const defaults = { duration: '1h', minDuration: '5m', maxDuration: '4h', requireReason: true, approvals: 1, approvalTimeout: '1h', expiryWarning: '10m' };
    h = inMemoryService({ policy: unitPolicy({ defaults: { ...defaults, selfExtend: '30m', maxTotalDuration: '6h' } }) });
    await h.registerKey(ENG);
    const id = await h.approvedGrant(ENG);
    await h.service.completeActivation(id);
    const end = (await h.requests.get(id))!.expiresAt!;
    await h.run(h.service.command(ENG, `extend ${id} 20m still migrating`));
    assert.deepEqual(steps(id).at(-1), { kind: 'extended', durationMs: 20 * MINUTE, endsAt: end + 20 * MINUTE, approvedBy: [] });
    const asked = await h.run(h.service.command(ENG, `extend ${id} 1h past the budget`));
    const extId = asked.reply?.kind === 'extension-sent' ? asked.reply.id : assert.fail(JSON.stringify(asked.reply));
    await h.run(h.service.approve(extId, ALICE));
    const told = { kind: 'extended', durationMs: HOUR, endsAt: end + 80 * MINUTE, approvedBy: [ALICE] };
    assert.deepEqual(steps(id), [{ kind: 'activated' }, steps(id)[1], told]);
    assert.deepEqual(steps(extId), [told], 'the extension’s own thread');
    // Another extension, left waiting when the grant ends: its thread hears it was cancelled, once.
    const waiting = await h.run(h.service.command(ENG, `extend ${id} 1h once more`));
    const waitId = waiting.reply?.kind === 'extension-sent' ? waiting.reply.id : assert.fail(JSON.stringify(waiting.reply));
    await h.run(h.service.command(ENG, `revoke ${id}`));
    await h.run(h.service.approve(waitId, ALICE));
    assert.deepEqual(kinds(waitId), ['cancelled']);
    assert.equal(h.notifier.of('requestStep', waitId)[0]?.request.endReason, 'grant-ended');
  });

  it('a request whose approval message never landed (no copies) has no thread to tell', async () => {
    const id = await h.request(ENG, 'web-1 1h');
    h.requests.messageRefs = async () => [];
    await h.run(h.service.deny(id, ALICE, 'no'));
    assert.deepEqual(kinds(id), []);
    assert.equal(h.notifier.of('requestChanged', id).length, 1, 'the top message is still updated (where any)');
  });
});

// A grant's life after approval, against in-memory ports: activation follow-up exactly once, failures,
// expiry warning, expiry and time-out. The clock is moved by hand; nothing sleeps.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ALICE, ENG, HOUR, inMemoryService, MINUTE, type Harness } from '../support/in-memory/service.ts';

describe('grant lifecycle', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  /** An approved web-1 grant of ENG's, its follow-up not yet run. */
  const approvedGrant = (duration?: string) => h.approvedGrant(ENG, duration);

  it('activation: revoke job at expiry, warning before it, time-out job gone, line installed, one connect message', async () => {
    const id = await approvedGrant('2h');
    const now = h.clock.now();
    await h.service.completeActivation(id);
    assert.equal(h.jobs.scheduled.get(`revoke:${id}`), now + 2 * HOUR);
    assert.equal(h.jobs.scheduled.get(`expiry-warning:${id}`), now + 2 * HOUR - 10 * MINUTE);
    assert.equal(h.jobs.scheduled.has(`timeout:${id}`), false);
    assert.deepEqual(h.sync.blocks.get('bastion'), [id]);
    const [active] = h.notifier.of('grantActivated', id);
    assert.ok(active && 'instructions' in active && active.instructions.command.includes('-J'), 'connect instructions sent');
    assert.equal(h.requests.activating.has(id), false, 'nothing owed any more');
    assert.equal(h.notifier.of('requestChanged', id).at(-1)?.request.state, 'active');
    await h.service.completeActivation(id);
    assert.equal(h.notifier.of('grantActivated', id).length, 1, 'a second run (the reconciler) does nothing');
  });

  it('a grant too short for a meaningful warning gets none', async () => {
    const id = await approvedGrant('15m');
    await h.service.completeActivation(id);
    assert.equal(h.jobs.scheduled.has(`expiry-warning:${id}`), false);
    assert.ok(h.jobs.scheduled.has(`revoke:${id}`));
  });

  it('a sync that fails marks the grant failed, takes out anything half-installed and says so once', async () => {
    const id = await approvedGrant();
    h.sync.failures = 1;
    await h.service.completeActivation(id);
    assert.equal((await h.requests.get(id))?.state, 'failed');
    assert.deepEqual(h.notifier.of('grantNotActivated', id).map((n) => n.request.state), ['failed']);
    assert.equal(h.notifier.of('grantActivated', id).length, 0);
    assert.equal(h.sync.synced.length, 2, 'synced again to take the line out');
    assert.deepEqual(h.requests.auditTypes(id).slice(-1), ['failed']);
  });

  it('a grant the sync did not render (the key went meanwhile) fails', async () => {
    const id = await approvedGrant();
    await h.keys.remove(ENG, h.clock.now());
    await h.service.completeActivation(id);
    assert.equal((await h.requests.get(id))?.state, 'failed');
  });

  it('a grant that ended before its follow-up ran gets no connect instructions, and is told so', async () => {
    const id = await approvedGrant();
    await h.service.command(ENG, `revoke ${id}`);
    await h.service.completeActivation(id);
    assert.deepEqual(h.notifier.of('grantNotActivated', id).map((n) => n.request.state), ['revoked']);
    assert.equal(h.jobs.scheduled.has(`revoke:${id}`), false, 'no revoke job for a grant that is not active');
  });

  it('a follow-up taken over after a crash does not send the activation message twice', async () => {
    const id = await approvedGrant();
    await h.requests.activationMessageAttempt(id); // the dead replica's attempt
    h.notifier.alreadySent = true;
    await h.service.completeActivation(id);
    assert.equal(h.notifier.of('grantActivated', id).length, 0);
    assert.equal(h.requests.activating.has(id), false);
    h.notifier.alreadySent = false;
    const other = await approvedGrant();
    await h.requests.activationMessageAttempt(other);
    await h.service.completeActivation(other);
    assert.equal(h.notifier.of('grantActivated', other).length, 1, 'not found in the history: sent');
  });

  it('a follow-up that outlived its lease (a call hung; another replica may have it now) sends nothing and stays owed', async () => {
    const id = await approvedGrant();
    h.requests.lostLeases.add(id);
    await assert.rejects(h.service.completeActivation(id), /lost the activation lease/);
    assert.equal(h.notifier.of('grantActivated', id).length + h.notifier.of('grantNotActivated', id).length, 0, 'no message');
    assert.equal(h.requests.activating.has(id), true, 'still owed, for the replica that took it over');
    h.requests.lostLeases.delete(id);
    await h.service.completeActivation(id);
    assert.equal(h.notifier.of('grantActivated', id).length, 1, 'sent once by the next run');
  });

  it('expiry warning: only for an active grant with time left, saying how long', async () => {
    const id = await approvedGrant('1h');
    await h.service.completeActivation(id);
    h.clock.advance(50 * MINUTE);
    await h.service.expiryWarning(id);
    assert.deepEqual(h.notifier.of('expiryWarning', id).map((n) => ('leftMs' in n ? n.leftMs : 0)), [10 * MINUTE]);
    h.clock.advance(10 * MINUTE);
    await h.service.expiryWarning(id);
    await h.service.expire(id);
    await h.service.expiryWarning(id);
    assert.equal(h.notifier.of('expiryWarning', id).length, 1);
  });

  it('expiry: ended once, the requester told once, the block synced every time (retries)', async () => {
    const id = await approvedGrant('1h');
    await h.service.completeActivation(id);
    h.clock.advance(HOUR);
    await h.service.expire(id);
    await h.service.expire(id);
    assert.equal((await h.requests.get(id))?.state, 'expired');
    assert.deepEqual(h.notifier.of('grantEnded', id).map((n) => n.request.state), ['expired']);
    assert.deepEqual(h.sync.blocks.get('bastion'), []);
    assert.equal(h.sync.synced.length, 3);
    assert.equal(h.requests.auditTypes(id).filter((t) => t === 'expired').length, 1);
  });

  it('expiry: the line is gone before anyone is told; a failed sync still tells, throws (the job retries), and the retry takes the line out', async () => {
    const id = await approvedGrant('1h');
    await h.service.completeActivation(id);
    const blockWhenTold: (string[] | undefined)[] = [];
    const grantEnded = h.notifier.grantEnded.bind(h.notifier);
    h.notifier.grantEnded = async (r) => {
      blockWhenTold.push([...(h.sync.blocks.get('bastion') ?? [])]);
      return grantEnded(r);
    };
    h.clock.advance(HOUR);
    h.sync.failures = 1;
    await assert.rejects(h.service.expire(id), /bastion unreachable/);
    assert.equal((await h.requests.get(id))?.state, 'expired');
    assert.deepEqual(blockWhenTold, [[id]], 'told while the server could not be written (sshd expiry-time ends the key)');
    assert.equal(h.notifier.of('requestChanged', id).at(-1)?.request.state, 'expired', 'every copy shows the end');
    await h.service.expire(id);
    assert.deepEqual(h.sync.blocks.get('bastion'), [], 'the retry took the line out');
    assert.equal(h.notifier.of('grantEnded', id).length, 1, 'told once');

    const next = await approvedGrant('1h');
    await h.service.completeActivation(next);
    h.clock.advance(HOUR);
    await h.service.expire(next);
    assert.deepEqual(blockWhenTold.at(-1), [], 'synced first: the line was gone when the requester was told');
  });

  it('time-out: a pending request times out and the requester is told; a decided one is left alone', async () => {
    const pending = await h.request(ENG, 'web-1 30m');
    await h.service.timeOut(pending);
    assert.equal((await h.requests.get(pending))?.state, 'timed-out');
    assert.deepEqual(h.notifier.of('requestTimedOut', pending).map((n) => n.request.state), ['timed-out']);
    const active = await approvedGrant();
    await h.service.timeOut(active);
    assert.equal((await h.requests.get(active))?.state, 'active');
    assert.equal(h.notifier.of('requestTimedOut', active).length, 0);
    await h.service.timeOut('rgone');
    await h.service.expire('rgone');
  });
});

// A grant's life after approval, its edges, against in-memory ports: what a failed activation logs and stores,
// grants that end or expire while their follow-up runs, store and job blips, and the fields each end stores.
// Each assertion pins a behaviour a StrykerJS mutant of src/service/grant-lifecycle.ts left alive.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { RETIRED_REASON } from '../../src/service/grant-lifecycle.ts';
import { ALICE, ENG, HOUR, inMemoryService, MINUTE, publicKeyLine, type Harness } from '../support/in-memory/service.ts';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';

describe('grant lifecycle edges', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  /** An approved web-1 grant of ENG's, its follow-up not yet run. */
  const approvedGrant = (duration?: string) => h.approvedGrant(ENG, duration);

  it('a grant of exactly twice the warning gets no warning job', async () => {
    const id = await approvedGrant('20m'); // the unit policy warns 10m before the end
    await h.service.completeActivation(id);
    assert.equal(h.jobs.scheduled.has(`expiry-warning:${id}`), false);
    const longer = await approvedGrant('21m');
    await h.service.completeActivation(longer);
    assert.ok(h.jobs.scheduled.has(`expiry-warning:${longer}`));
  });

  it('the first attempt sends the activation message without looking in the history', async () => {
    h.notifier.alreadySent = true; // a history lookup would say "sent"
    const id = await approvedGrant();
    await h.service.completeActivation(id);
    assert.equal(h.notifier.of('grantActivated', id).length, 1);
  });

  it('the connect instructions are those of the granted host', async () => {
    const id = await approvedGrant();
    await h.service.completeActivation(id);
    const web = h.policy.hosts.find((x) => x.name === 'web-1')!;
    const sent = h.notifier.of('grantActivated', id)[0];
    assert.deepEqual(sent && 'instructions' in sent && sent.instructions, connectInstructions(web, h.sync.jumpHost('bastion')));
  });

  it('a failed activation logs the error with the request, stores no key-change reason and clips the audit detail', async () => {
    const id = await approvedGrant();
    const real = h.sync.sync.bind(h.sync);
    let calls = 0;
    h.sync.sync = async (j) => {
      if (calls++ === 0) throw new Error(`bastion unreachable ${'x'.repeat(300)}`);
      return real(j);
    };
    await h.service.completeActivation(id);
    const req = await h.requests.get(id);
    assert.deepEqual([req?.state, req?.endReason], ['failed', undefined]);
    const detail = h.audit.find((e) => e.type === 'failed')?.detail ?? '';
    assert.equal(detail.length, 200);
    assert.ok(detail.startsWith('bastion unreachable x'));
    const logged = h.logs.filter((l) => l.msg === 'activation failed');
    assert.deepEqual(logged.map((l) => [l.level, (l.obj as { requestId: string }).requestId, (l.obj as { err: unknown }).err instanceof Error]), [['error', id, true]]);
  });

  it('a grant revoked while its sync ran is neither failed nor synced again', async () => {
    const id = await approvedGrant();
    const real = h.sync.sync.bind(h.sync);
    h.sync.sync = async (j) => {
      await h.requests.transition({ id }, 'revoked', { type: 'revoked', at: h.clock.now(), requestId: id });
      return real(j);
    };
    await h.service.completeActivation(id);
    assert.equal((await h.requests.get(id))?.state, 'revoked');
    assert.equal(h.audit.filter((e) => e.type === 'failed').length, 0);
    assert.equal(h.logs.filter((l) => l.msg === 'activation failed').length, 0);
  });

  it('a failed sync of a grant revoked meanwhile is not synced again', async () => {
    const id = await approvedGrant();
    let calls = 0;
    h.sync.sync = async () => {
      calls++;
      await h.requests.transition({ id }, 'revoked', { type: 'revoked', at: h.clock.now(), requestId: id });
      throw new Error('bastion unreachable');
    };
    await h.service.completeActivation(id);
    assert.equal((await h.requests.get(id))?.state, 'revoked');
    assert.equal(calls, 1, 'the failed transition lost: nothing of this grant to take out');
  });

  it('a grant whose time is up when its follow-up runs is not failed (the expiry takes it)', async () => {
    const id = await approvedGrant('1h');
    h.clock.advance(HOUR); // exactly at expiresAt: the renderer leaves it out
    await h.service.completeActivation(id);
    assert.equal((await h.requests.get(id))?.state, 'active');
    assert.equal(h.audit.filter((e) => e.type === 'failed').length, 0);
  });

  it('a request stored before keys were bound and not rendered fails as not rendered, not as a key change', async () => {
    const id = await approvedGrant();
    delete h.requests.requests.get(id)!.keyFingerprint;
    await h.keys.remove(ENG, h.clock.now());
    await h.service.completeActivation(id);
    const req = await h.requests.get(id);
    assert.deepEqual([req?.state, req?.endReason], ['failed', undefined]);
    assert.equal(h.audit.find((e) => e.type === 'failed')?.detail, 'grant not rendered (key missing or host no longer in policy)');
  });

  it('a request stored before keys were bound whose new key stands outside the block fails naming that key', async () => {
    const id = await approvedGrant();
    delete h.requests.requests.get(id)!.keyFingerprint;
    const other = checkUserPublicKey(publicKeyLine(), { minRsaBits: 3072 });
    assert.ok(other.ok);
    await h.keys.set(ENG, other.value, h.clock.now());
    h.sync.standing.add(other.value.fingerprint);
    await h.service.completeActivation(id);
    const req = await h.requests.get(id);
    assert.deepEqual([req?.state, req?.endReason], ['failed', undefined]);
    assert.match(h.audit.find((e) => e.type === 'failed')?.detail ?? '', /stands in authorized_keys outside the managed block/);
  });

  it('jobs that cannot be updated after activation are logged; the grant still activates', async () => {
    const id = await approvedGrant();
    h.jobs.cancel = async () => {
      throw new Error('redis down');
    };
    await h.service.completeActivation(id);
    assert.equal(h.notifier.of('grantActivated', id).length, 1);
    assert.deepEqual(
      h.logs.filter((l) => l.msg === 'could not update jobs after activation').map((l) => [l.level, (l.obj as { requestId: string }).requestId]),
      [['warn', id]],
    );
  });

  it('finishing the activation is retried after a store blip', async () => {
    const id = await approvedGrant();
    const real = h.requests.finishActivation.bind(h.requests);
    let calls = 0;
    h.requests.finishActivation = async (x) => {
      if (calls++ === 0) throw new Error('redis blip');
      return real(x);
    };
    await h.service.completeActivation(id);
    assert.equal(calls, 2);
    assert.equal(h.requests.activating.has(id), false);
    assert.equal(h.notifier.of('grantActivated', id).length, 1);
  });

  it('expiry and time-out store when the request ended', async () => {
    const id = await approvedGrant('1h');
    await h.service.completeActivation(id);
    h.clock.advance(HOUR);
    await h.service.expire(id);
    assert.equal((await h.requests.get(id))?.endedAt, h.clock.now());
    const pending = await h.request(ENG, 'web-1 30m');
    h.clock.advance(HOUR);
    await h.service.timeOut(pending);
    assert.equal((await h.requests.get(pending))?.endedAt, h.clock.now());
  });

  it('no expiry warning for a grant revoked with time left', async () => {
    const id = await approvedGrant('1h');
    await h.service.completeActivation(id);
    await h.run(h.service.command(ENG, `revoke ${id}`));
    h.clock.advance(50 * MINUTE);
    await h.service.expiryWarning(id);
    assert.equal(h.notifier.of('expiryWarning', id).length, 0);
  });

  it('a grant ended by its retired jump server is audited with the server; a failing job cancel is logged', async () => {
    const id = await approvedGrant('1h');
    await h.service.completeActivation(id);
    h.jobs.cancel = async () => {
      throw new Error('redis down');
    };
    assert.equal(await h.service.endForRetiredJumpHost(id), true);
    assert.deepEqual(h.audit.filter((e) => e.type === 'revoked').map((e) => [e.reason, e.detail]), [[RETIRED_REASON, 'jump server bastion']]);
    assert.deepEqual(
      h.logs.filter((l) => l.msg === 'could not cancel the revoke job').map((l) => [l.level, (l.obj as { requestId: string }).requestId]),
      [['warn', id]],
    );
    assert.equal(h.notifier.of('grantEnded', id).length, 1);
    assert.equal(await h.service.endForRetiredJumpHost('rgone'), false);
  });
});

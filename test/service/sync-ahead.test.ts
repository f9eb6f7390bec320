// An approval asks for its jump server's sync in the same turn as it is sent (sync-ahead.ts): that sync installs
// the line, its write waits for the revoke job, and any approval that does not activate here lets it go at once.
// A revocation asks for its sync in the same turn as its state change, and that sync takes the line out.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ALICE, BOB, ENG, inMemoryService, type Harness } from '../support/in-memory/service.ts';

describe('the sync asked for with an approval', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });

  /** How many syncs had been asked for when each approval's answer came back from the store. */
  function askedAtAnswers(): number[] {
    const seen: number[] = [];
    const approve = h.requests.approve.bind(h.requests);
    h.requests.approve = (...args: Parameters<typeof approve>) =>
      approve(...args).then((r) => {
        seen.push(h.sync.asked.length);
        return r;
      });
    return seen;
  }

  type SyncOutcome = Awaited<ReturnType<Harness['sync']['sync']>>;
  /** The first sync answers `first` of what it rendered (its reads ran before the change); the syncs, as they answer. */
  function firstSyncAnswers(first: (r: SyncOutcome) => SyncOutcome): SyncOutcome[] {
    const sync = h.sync.sync.bind(h.sync);
    const answers: SyncOutcome[] = [];
    h.sync.sync = async (...args: Parameters<typeof sync>) => {
      const r = await sync(...args);
      answers.push(answers.length === 0 ? first(r) : r);
      return answers[answers.length - 1]!;
    };
    return answers;
  }

  it('is asked for before the approval’s answer, is the one sync that installs the line, and writes after the revoke job', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    const seen = askedAtAnswers();
    const order: string[] = [];
    const schedule = h.jobs.schedule.bind(h.jobs);
    h.jobs.schedule = async (...args: Parameters<typeof schedule>) => {
      await schedule(...args);
      order.push(`scheduled ${args[0]}`);
    };
    const sync = h.sync.sync.bind(h.sync);
    h.sync.sync = async (...args: Parameters<typeof sync>) => {
      const r = await sync(...args);
      order.push('synced');
      return r;
    };
    const before = h.sync.asked.length;
    await h.run(h.service.approve(id, ALICE));
    assert.deepEqual(seen, [before + 1], 'the sync was asked for while the approval was on its way');
    assert.equal(h.sync.asked.length, before + 1, 'one sync for the activation, not a second one from its follow-up');
    assert.deepEqual(h.sync.blocks.get('bastion'), [id]);
    assert.equal((await h.requests.get(id))?.state, 'active');
    assert.ok(order.indexOf('scheduled revoke') < order.indexOf('synced'), `the revoke job before the write: ${order.join(', ')}`);
  });

  it('lets its sync go at once when the approval only records, or is refused', async () => {
    const id = await h.request(ENG, 'db-1 30m fix replication'); // two approvals
    const out = await h.run(h.service.approve(id, ALICE));
    assert.equal(out.reply?.kind, 'approval-recorded');
    const refused = await h.run(h.service.approve(id, ALICE));
    assert.equal(refused.reply?.kind === 'refused' && refused.reply.code, 'already-approved');
    // Each asked sync ran (the in-memory sync, like the real one, waits for its gate before it writes).
    await new Promise((r) => setImmediate(r));
    assert.equal(h.sync.synced.length, h.sync.asked.length, `asked ${h.sync.asked.length}, ran ${h.sync.synced.length}`);
    assert.deepEqual(h.sync.blocks.get('bastion') ?? [], []);
  });

  it('lets its sync go when the activation’s follow-up is not owed here (another replica runs it)', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    h.requests.withActivationLease = async () => false;
    await h.run(h.service.approve(id, ALICE));
    await new Promise((r) => setImmediate(r));
    assert.equal(h.sync.synced.length, h.sync.asked.length);
  });

  it('a sync that rendered without the grant (its reads ran before the approval) is followed by one asked for then, before anything fails', async () => {
    const id = await h.request(ENG, 'db-1 1h fix replication');
    await h.run(h.service.approve(id, BOB));
    const calls = firstSyncAnswers((r) => ({ ...r, grantIds: [] }));
    await h.run(h.service.approve(id, ALICE));
    assert.equal(calls.length, 2);
    assert.equal((await h.requests.get(id))?.state, 'active', 'not failed');
    assert.equal(h.notifier.of('grantActivated', id).length, 1);
  });

  it('a revocation asks for its sync before the state change’s answer, and that one sync takes the line out', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(id, ALICE));
    assert.deepEqual(h.sync.blocks.get('bastion'), [id]);
    const transition = h.requests.transition.bind(h.requests);
    const askedAtAnswer: number[] = [];
    h.requests.transition = (...args: Parameters<typeof transition>) =>
      transition(...args).then((r) => {
        askedAtAnswer.push(h.sync.asked.length);
        return r;
      });
    const before = h.sync.asked.length;
    const out = await h.run(h.service.command(ENG, `revoke ${id}`));
    assert.equal(out.reply?.kind, 'revoked');
    assert.deepEqual(askedAtAnswer, [before + 1], 'asked for while the state change was on its way');
    assert.equal(h.sync.asked.length, before + 1, 'one sync');
    assert.deepEqual(h.sync.blocks.get('bastion'), []);
    assert.equal(h.jobs.scheduled.has(`revoke:${id}`), false, 'the revoke job cancelled once the line is gone');
  });

  it('a revocation whose sync still rendered the grant (its reads ran first) syncs once more before anyone is told', async () => {
    const id = await h.request(ENG, 'web-1 30m');
    await h.run(h.service.approve(id, ALICE));
    const calls = firstSyncAnswers((r) => ({ ...r, grantIds: [...r.grantIds, id] }));
    await h.run(h.service.command(ENG, `revoke ${id}`));
    assert.equal(calls.length, 2);
    assert.deepEqual(h.sync.blocks.get('bastion'), []);
  });
});

// `/jump list` for owners: what awaits their decision; `/jump list all`: everything pending and active on their
// hosts (user groups expanded). Nobody sees requests on hosts they do not own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reply } from '../../src/service/replies.ts';
import { ALICE, BOB, CAROL, ENG, MALLORY, inMemoryService, unitPolicy } from '../support/in-memory/service.ts';

type ListReply = Extract<Reply, { kind: 'list' }>;
const ids = (rs?: { id: string }[]) => (rs ?? []).map((r) => r.id).sort();

describe('owners’ lists', () => {
  async function setup() {
    // Three requests of one person at once: a higher pending cap than the unit policy's 2.
    const h = inMemoryService({ rateLimited: false, policy: unitPolicy({ limits: { maxPendingRequests: 5 } }) });
    await h.registerKey(ENG);
    const db = await h.request(ENG, 'db-1 1h fix replication'); // owners ALICE, BOB; 2 approvals
    const cache = await h.request(ENG, 'cache-1 1h warm it'); // owners S0CACHE = CAROL
    const list = async (user: string, text = 'list') => (await h.service.command(user, text)).reply as ListReply;
    return { h, db, cache, list };
  }

  it('shows each owner what awaits their decision, until they have approved', async () => {
    const { h, db, cache, list } = await setup();
    assert.deepEqual(ids((await list(ALICE)).awaiting), [db]);
    assert.deepEqual(ids((await list(CAROL)).awaiting), [cache], 'through the user group');
    await h.service.approve(db, ALICE); // 1 of 2
    assert.deepEqual(ids((await list(ALICE)).awaiting), [], 'approved already');
    assert.deepEqual(ids((await list(BOB)).awaiting), [db]);
    assert.equal((await list(MALLORY)).awaiting, undefined, 'owns nothing');
    assert.equal((await list(ENG)).awaiting, undefined);
  });

  it('list all: everything pending and active on the owner’s hosts, nothing on others', async () => {
    const { h, db, list } = await setup();
    const web = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(web, ALICE));
    await h.service.completeActivation(web);
    assert.equal((await h.requests.get(web))?.state, 'active');
    assert.deepEqual(ids((await list(ALICE, 'list all')).onTheirHosts), [db, web].sort());
    assert.deepEqual(ids((await list(ALICE, 'list all')).awaiting), [db]);
    const carol = await list(CAROL, 'list all');
    assert.ok(!ids(carol.onTheirHosts).includes(db) && !ids(carol.onTheirHosts).includes(web));
    const mallory = await list(MALLORY, 'list all');
    assert.deepEqual([mallory.ownsHosts, mallory.onTheirHosts], [false, undefined]);
  });
});

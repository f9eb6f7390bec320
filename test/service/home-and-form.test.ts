// The Home tab's contents and who is told that theirs changed; the request form: what it offers and that
// submitting it is `/jump request` (same outcome, same refusals, nothing created on a refusal).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALICE, BOB, CAROL, ENG, HOUR, MALLORY, MINUTE, inMemoryService, unitPolicy } from '../support/in-memory/service.ts';

const ids = (rs?: { id: string }[]) => (rs ?? []).map((r) => r.id);
const sorted = (xs: readonly string[]) => [...xs].sort();

describe('Home tab contents', () => {
  it('shows the person’s pending requests, active grants and the last ten ended ones, newest first', async () => {
    const h = inMemoryService({ rateLimited: false, policy: unitPolicy({ limits: { maxPendingRequests: 20 } }) });
    await h.registerKey(ENG);
    const ended: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = await h.request(ENG, 'web-1 30m');
      await h.service.command(ENG, `revoke ${id}`); // cancelled
      ended.unshift(id);
      h.clock.advance(MINUTE);
    }
    const pending = await h.request(ENG, 'db-1 1h fix replication');
    const active = await h.approvedGrant(ENG, '1h');
    await h.service.completeActivation(active);
    const home = await h.service.home(ENG);
    assert.deepEqual(ids(home.pending), [pending]);
    assert.deepEqual(ids(home.active), [active]);
    assert.deepEqual(ids(home.ended), ended.slice(0, 10), 'the last ten, newest first');
    assert.equal(home.awaiting, undefined, 'owns no host');
    assert.equal(home.now, h.clock.now());
  });

  it('shows owners what awaits their decision, as /jump list does (user groups expanded, not what they approved)', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    const db = await h.request(ENG, 'db-1 1h fix replication');
    const cache = await h.request(ENG, 'cache-1 1h warm it');
    assert.deepEqual(ids((await h.service.home(ALICE)).awaiting), [db]);
    assert.deepEqual(ids((await h.service.home(CAROL)).awaiting), [cache], 'through the user group');
    await h.service.approve(db, ALICE);
    assert.deepEqual(ids((await h.service.home(ALICE)).awaiting), []);
    assert.deepEqual(ids((await h.service.home(BOB)).awaiting), [db]);
    assert.equal((await h.service.home(MALLORY)).awaiting, undefined);
  });
});

describe('Home tabs told of changes', () => {
  it('a new request, each approval, the activation, the end: the requester and the host’s owners each time', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    const homes = () => h.notifier.homes.splice(0).map(sorted);
    const db = await h.request(ENG, 'db-1 1h fix replication');
    assert.deepEqual(homes(), [sorted([ENG, ALICE, BOB])], 'the new request');
    await h.run(h.service.approve(db, ALICE));
    assert.deepEqual(homes(), [sorted([ENG, ALICE, BOB])], '1 of 2 approvals');
    await h.run(h.service.approve(db, BOB)); // the last approval's follow-up activates it, then shows it
    assert.equal((await h.requests.get(db))?.state, 'active');
    assert.deepEqual(homes(), [sorted([ENG, ALICE, BOB])], 'active');
    await h.run(h.service.command(ENG, `revoke ${db}`));
    assert.deepEqual(homes(), [sorted([ENG, ALICE, BOB])], 'ended');
    const cache = await h.request(ENG, 'cache-1 1h warm it');
    await h.run(h.service.command(ENG, `revoke ${cache}`));
    assert.deepEqual(homes(), [sorted([ENG, CAROL]), sorted([ENG, CAROL])], 'group owners expanded');
  });

  it('a time-out, an expiry and a denial are shown too; a group that cannot be listed leaves its members out', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    const web = await h.request(ENG, 'web-1 1h');
    h.notifier.homes.length = 0;
    await h.service.timeOut(web);
    assert.deepEqual(h.notifier.homes.splice(0).map(sorted), [sorted([ENG, ALICE])]);
    const grant = await h.approvedGrant(ENG, '30m');
    await h.service.completeActivation(grant);
    h.notifier.homes.length = 0;
    h.clock.advance(30 * MINUTE);
    await h.service.expire(grant);
    assert.deepEqual(h.notifier.homes.splice(0).map(sorted), [sorted([ENG, ALICE])]);
    h.owners.groupsUnavailable = true;
    const cache = await h.request(ENG, 'cache-1 1h warm it');
    h.owners.groupsUnavailable = false;
    await h.run(h.service.deny(cache, CAROL, 'not now'));
    assert.deepEqual(h.notifier.homes.splice(0).map(sorted), [[ENG], sorted([ENG, CAROL])]);
  });

  it('never fails the change it follows: a failing Home tab is logged', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    h.notifier.homeChanged = async () => {
      throw new Error('views.publish down');
    };
    const web = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(web, ALICE));
    await h.service.completeActivation(web);
    assert.equal((await h.requests.get(web))?.state, 'active');
    assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg === 'could not show the change on the Home tabs'));
  });
});

describe('request form', () => {
  it('/jump request alone answers with the form: the hosts the person may request, not those behind a retired jump server', async () => {
    const policy = unitPolicy({
      jumpHosts: [
        { name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: `SHA256:${'A'.repeat(43)}`, privateKeyPath: '/k' },
        { name: 'old', address: 'old.internal', user: 'jump', hostKey: `SHA256:${'A'.repeat(43)}`, privateKeyPath: '/k', retired: true },
      ],
      hosts: [
        { name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: [ALICE], maxDuration: '2h' },
        { name: 'legacy-1', address: '10.0.0.6', jumpHost: 'old', owners: [ALICE] },
      ],
    });
    const h = inMemoryService({ policy });
    const out = await h.service.command(ENG, 'request');
    assert.equal(out.reply?.kind, 'request-form');
    const form = out.reply?.kind === 'request-form' ? out.reply.form : undefined;
    assert.deepEqual(form?.hosts.map((x) => x.name), ['db-1']);
    assert.equal(form?.defaultDurationMs, HOUR);
    assert.equal(out.after, undefined, 'nothing to do after');
    // The typed command refuses the left-out host, in the words the form would show.
    await h.registerKey(ENG);
    const typed = await h.service.command(ENG, 'request legacy-1 1h x');
    const submitted = await h.service.submitRequestForm(undefined, ENG, { host: 'legacy-1', duration: '1h', reason: 'x' });
    assert.deepEqual(submitted.reply, typed.reply);
    assert.equal(typed.reply?.kind === 'refused' && typed.reply.code, 'jump-host-retired');
  });

  it('offers a host naming requesters only to them (user groups expanded; a group that cannot be listed: not offered), as the typed command allows', async () => {
    const policy = unitPolicy({
      hosts: [
        { name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: [ALICE], requesters: [ENG] },
        { name: 'web-1', address: '10.0.0.7', jumpHost: 'bastion', owners: [ALICE], requireReason: false },
        { name: 'cache-1', address: '10.0.0.9', jumpHost: 'bastion', owners: [ALICE], requesters: ['S0CACHE'] },
      ],
    });
    const h = inMemoryService({ policy });
    const offered = async (user: string) => (await h.service.requestForm(user)).hosts.map((x) => x.name);
    assert.deepEqual(await offered(ENG), ['db-1', 'web-1']);
    assert.deepEqual(await offered(CAROL), ['web-1', 'cache-1'], 'through the user group');
    assert.deepEqual(await offered(MALLORY), ['web-1']);
    h.owners.groupsUnavailable = true;
    assert.deepEqual(await offered(CAROL), ['web-1'], 'fail closed');
    h.owners.groupsUnavailable = false;
    // The typed command refuses what the picker leaves out.
    await h.registerKey(MALLORY);
    const typed = await h.service.command(MALLORY, 'request db-1 1h x');
    assert.equal(typed.reply?.kind === 'refused' && typed.reply.code, 'not-a-requester');
    const form = await h.service.submitRequestForm(undefined, MALLORY, { host: 'db-1', duration: '1h', reason: 'x' });
    assert.deepEqual(form.reply, typed.reply);
  });

  it('submitting it is /jump request: the same refusals with nothing created, the same request when it is right', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    for (const [text, asked] of [
      ['db-1 3h fix', { host: 'db-1', duration: '3h', reason: 'fix' }],
      ['db-1 1h', { host: 'db-1', duration: '1h', reason: '' }],
      ['nope 1h x', { host: 'nope', duration: '1h', reason: 'x' }],
      ['db-1 2x x', { host: 'db-1', duration: '2x', reason: 'x' }],
    ] as const) {
      const typed = await h.service.command(ENG, `request ${text}`);
      const form = await h.service.submitRequestForm(undefined, ENG, asked);
      assert.equal(typed.reply?.kind, 'refused', text);
      assert.deepEqual(form.reply, typed.reply, text);
    }
    assert.equal(h.requests.requests.size, 0, 'nothing created');
    const sent = await h.run(h.service.submitRequestForm(undefined, ENG, { host: 'web-1', duration: '30m', reason: '' }));
    assert.equal(sent.reply?.kind, 'request-sent');
    const req = sent.reply?.kind === 'request-sent' ? await h.requests.get(sent.reply.id) : undefined;
    assert.deepEqual([req?.requester, req?.host, req?.durationMs, req?.state], [ENG, 'web-1', 30 * MINUTE, 'pending']);
    assert.equal(h.notifier.of('requestPending', req?.id).length, 1, 'the owners are asked');
  });

  it('opened by Request again: prefilled from the earlier request, and only its requester may submit it', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    const old = await h.request(ENG, 'web-1 45m look again');
    await h.service.command(ENG, `revoke ${old}`);
    const earlier = await h.service.earlierRequest(old, ENG);
    assert.ok(earlier.ok);
    const form = await h.service.requestForm(ENG, earlier.request);
    assert.deepEqual(form.earlier, { id: old, host: 'web-1', durationMs: 45 * MINUTE, reason: 'look again' });
    assert.ok(form.durationsMs.includes(45 * MINUTE));
    const stranger = await h.service.submitRequestForm(old, MALLORY, { host: 'web-1', duration: '45m', reason: '' });
    assert.deepEqual(stranger.reply, { kind: 'not-yours', id: old });
    const again = await h.service.submitRequestForm(old, ENG, { host: 'web-1', duration: '45m', reason: 'look again' });
    assert.equal(again.reply?.kind, 'request-sent');
  });
});

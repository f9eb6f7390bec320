// The policy's reason rules and requesters at request time, against in-memory ports: a reason not matching the
// host's pattern is refused with its hint; only the host's requesters (user groups expanded) may request, anyone
// else is refused, told whom to ask, audited; nothing is stored for a refused request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reply } from '../../src/service/replies.ts';
import { ALICE, CAROL, ENG, inMemoryService, MALLORY, unitPolicy } from '../support/in-memory/service.ts';

const refusal = (r: Reply | undefined) => (r?.kind === 'refused' ? [r.code, r.params] : r);

describe('reason rules and requesters', () => {
  const policy = () =>
    unitPolicy({
      rules: [{ match: { env: 'prod' }, reasonPattern: '^(INC|CHG)-[0-9]+', reasonHint: 'start with a ticket id such as INC-1234', requesters: ['S0CACHE', ENG] }],
      hosts: [
        { name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: [ALICE], labels: { env: 'prod' } },
        { name: 'web-1', address: '10.0.0.7', jumpHost: 'bastion', owners: [ALICE], requireReason: false },
      ],
    });

  it('a reason not matching the pattern is refused with the hint, and nothing is stored; a matching one goes to the owners', async () => {
    const h = inMemoryService({ policy: policy() });
    await h.registerKey(ENG);
    const out = await h.run(h.service.command(ENG, 'request db-1 1h fixing replication'));
    assert.deepEqual(refusal(out.reply), ['reason-mismatch', { host: 'db-1', pattern: '^(INC|CHG)-[0-9]+', hint: 'start with a ticket id such as INC-1234' }]);
    assert.equal(h.requests.requests.size, 0);
    assert.equal((await h.run(h.service.command(ENG, 'request db-1 1h INC-1234 fixing replication'))).reply?.kind, 'request-sent');
    assert.equal((await h.run(h.service.command(ENG, 'request web-1 1h'))).reply?.kind, 'request-sent', 'no pattern, no reason needed on web-1');
  });

  it('only the requesters may ask (a user group expanded); anyone else is told whom to ask and audited', async () => {
    const h = inMemoryService({ policy: policy() });
    for (const u of [ENG, CAROL, MALLORY]) await h.registerKey(u);
    assert.equal((await h.run(h.service.command(CAROL, 'request db-1 1h CHG-7 rotate certs'))).reply?.kind, 'request-sent', 'CAROL is in S0CACHE');
    const out = await h.run(h.service.command(MALLORY, 'request db-1 1h INC-1 curious'));
    assert.deepEqual(refusal(out.reply), ['not-a-requester', { host: 'db-1', owners: [ALICE] }]);
    assert.deepEqual(
      h.audit.filter((e) => e.type === 'refused').map((e) => [e.actor, e.code]),
      [[MALLORY, 'not-a-requester']],
    );
    assert.equal((await h.run(h.service.command(MALLORY, 'request web-1 1h'))).reply?.kind, 'request-sent', 'web-1 names no requesters');
    assert.equal([...h.requests.requests.values()].filter((r) => r.requester === MALLORY && r.host === 'db-1').length, 0);
  });

  it('requesters Slack cannot list now: refused, fail closed (a person named directly needs no list)', async () => {
    const h = inMemoryService({ policy: policy() });
    for (const u of [ENG, CAROL]) await h.registerKey(u);
    h.owners.groupsUnavailable = true;
    assert.deepEqual(refusal((await h.run(h.service.command(CAROL, 'request db-1 1h INC-1 x'))).reply), ['requesters-unavailable', { host: 'db-1' }]);
    assert.equal((await h.run(h.service.command(ENG, 'request db-1 1h INC-1 x'))).reply?.kind, 'request-sent', 'ENG is named among the requesters');
  });

  it('an extension’s reason follows the same pattern', async () => {
    const h = inMemoryService({ policy: policy() });
    await h.registerKey(ENG);
    const asked = await h.run(h.service.command(ENG, 'request db-1 1h INC-1 x'));
    const id = asked.reply?.kind === 'request-sent' ? asked.reply.id : assert.fail();
    await h.run(h.service.approve(id, ALICE));
    const mismatch = (await h.run(h.service.command(ENG, `extend ${id} 30m more time`))).reply;
    assert.equal(mismatch?.kind === 'refused' && mismatch.code, 'reason-mismatch');
    assert.equal((await h.run(h.service.command(ENG, `extend ${id} 30m INC-1 more time`))).reply?.kind, 'extension-sent');
  });

  it('a typed request lacking only its required reason opens the request form for it, host and duration filled in; nothing is stored', async () => {
    const h = inMemoryService({ policy: policy() });
    await h.registerKey(ENG);
    const out = await h.run(h.service.command(ENG, 'request db-1 45m'));
    assert.equal(out.reply?.kind, 'request-form');
    if (out.reply?.kind !== 'request-form') return;
    assert.deepEqual(out.reply.form.selected, { host: 'db-1', durationMs: 45 * 60_000 });
    assert.deepEqual(out.reply.fallback, { code: 'reason-required', params: { host: 'db-1', durationMs: 45 * 60_000 } }, 'the answer if Slack does not open it');
    assert.equal(h.requests.requests.size, 0);
  });
});

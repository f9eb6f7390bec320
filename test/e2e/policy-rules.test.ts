// Policy rules end to end, through signed requests against real Redis and sshd: a label rule's owners and
// approvals apply to a host that names none; a reason not matching the pattern is refused with its hint and
// nothing is stored; only a host's requesters may request it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { approvalMessage, blockLines, click, metadata, posts, requestAccess, until } from '../support/flow.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { ENGINEER, OUTSIDER, OWNER, OWNER2, startWorld, type World } from '../support/world.ts';

describe('policy rules, reason patterns and requesters', () => {
  let world: World;
  before(async () => {
    world = await startWorld({
      rules: [{ match: { env: 'prod' }, owners: [OWNER, OWNER2], approvals: 2, reasonPattern: '^(INC|CHG)-[0-9]+', reasonHint: 'start with a ticket id such as INC-1234' }],
      hostFields: { 'internal-2': { owners: undefined, labels: { env: 'prod' } }, 'internal-1': { requesters: [ENGINEER] } },
    });
    for (const u of [ENGINEER, OUTSIDER]) assert.match((await world.sender.command(u, `key add ${world.engineerKey.publicKey}`)).json.text, u === ENGINEER ? /Key registered/ : /already registered|Key registered/);
  });
  after(async () => {
    await world?.stop();
  });

  it('a label rule’s owners and approvals apply to a host that names none: two owners approve, then a real ssh hop works', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-2 10m INC-4711 replica lag');
    assert.equal((await world.broker.requests.get(id))?.requiredApprovals, 2);
    await click(world, id, OWNER);
    await until('one of two', () => /1 of 2/.test(JSON.stringify(approvalMessage(world, `D${OWNER2}`, id)?.blocks)) || undefined);
    assert.equal((await world.broker.requests.get(id))?.state, 'pending');
    await click(world, id, OWNER2);
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)) || undefined);
    const hop = await sshHop({ jump: world.jump, target: world.internal2, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /revoked/);
  });

  it('a reason not matching the pattern is refused with the hint; nothing is stored or sent', async () => {
    const approvalPosts = () => posts(world).filter((c) => metadata(c)?.event_type === 'jit_request_pending').length;
    const before = approvalPosts();
    const r = await world.sender.command(ENGINEER, 'request internal-2 10m fixing replication');
    assert.equal(r.json.text, 'The reason for internal-2 does not fit: start with a ticket id such as INC-1234.');
    assert.equal(approvalPosts(), before, 'no approval message');
    assert.deepEqual((await world.broker.requests.recentForUser(ENGINEER, 20)).filter((q) => q.state === 'pending'), []);
  });

  it('only a host’s requesters may request it: anyone else is told whom to ask, and nothing is stored', async () => {
    const r = await world.sender.command(OUTSIDER, 'request internal-1 10m curious');
    assert.match(r.json.text, /^Only the people named as requesters of internal-1 may request it\. To be added, ask its owners: <!subteam\^S0OWNERS>\.$/);
    assert.deepEqual(await world.broker.requests.recentForUser(OUTSIDER, 20), []);
    const id = await requestAccess(world, ENGINEER, 'request internal-1 10m allowed');
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /cancelled/);
  });
});

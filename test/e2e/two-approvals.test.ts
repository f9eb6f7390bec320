// A host that needs two approvals, through Slack: the first owner's click is recorded and shown in place, the
// same owner clicking again changes nothing, the second owner's click activates the grant.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { approvalMessage, auditTypes, blockLines, postsAbout, requestAccess, until } from '../support/flow.ts';
import { sshHop } from '../support/ssh-client.ts';
import { ENGINEER, OWNER, OWNER2, startWorld, type World } from '../support/world.ts';

describe('a host with approvals: 2', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ approvals: 2 }); // internal-1, owned by the group of OWNER and OWNER2
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    await world?.stop();
  });

  const ephemerals = (user: string, pattern: RegExp) => world.slack.calls.filter((c) => c.method === 'chat.postEphemeral' && c.args.user === user && pattern.test(c.args.text));
  // The audit channel's trail of one request, read from the posts' metadata.
  const trail = (id: string) => auditTypes(world, id);

  it('needs two different owners: recorded in place after the first, active after the second', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-1 1m two owners please');
    const dm = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    assert.match(JSON.stringify(dm.blocks), /\*Approvals\*\\n0 of 2/);
    const approve = findButton(dm.blocks, 'jit_approve');
    const clickAs = async (who: string) => {
      const res = await world.sender.blockAction(who, { ...approve, message: { channel: dm.channel, ts: dm.ts } });
      assert.equal(res.status, 200);
    };

    // First owner: recorded, told so, every copy of the message updated in place; nothing on the jump server.
    await clickAs(OWNER);
    await until('recorded', () => ephemerals(OWNER, /^Approval recorded \(1 of 2\)\.$/).length === 1);
    for (const channel of [`D${OWNER}`, `D${OWNER2}`, 'C0APPROVALS']) {
      const m = await until(`updated in ${channel}`, () => {
        const now = approvalMessage(world, channel, id);
        return now && /1 of 2/.test(JSON.stringify(now.blocks)) ? now : undefined;
      });
      const shown = JSON.stringify(m.blocks);
      assert.match(shown, /Approved by <@U0OWNER1>; 1 more approval\(s\) needed/);
      assert.ok(findButton(m.blocks, 'jit_approve'), `buttons stay for the second owner (${channel})`);
    }
    assert.equal(world.slack.messages(`D${OWNER}`).filter((m) => JSON.stringify(m.blocks).includes(id)).length, 1, 'updated, not posted again');
    assert.equal((await world.broker.requests.get(id))?.state, 'pending');
    assert.equal(blockLines(world).length, 0);

    // The same owner again: refused, nothing recorded twice.
    await clickAs(OWNER);
    await until('already approved', () => ephemerals(OWNER, /You already approved; 1 more approval\(s\) from other owners are needed/).length === 1);
    const req = await world.broker.requests.get(id);
    assert.deepEqual(req?.approvers, [OWNER]);
    assert.equal(req?.state, 'pending');
    assert.equal(blockLines(world).length, 0);

    // The second owner: active, key line, connect instructions, real hop.
    await clickAs(OWNER2);
    const line = await until('key line', () => blockLines(world).find((l) => l.endsWith(`jit:${id}`)));
    assert.ok(line.includes(`permitopen="127.0.0.1:${world.internal.port}"`));
    const after = await world.broker.requests.get(id);
    assert.equal(after?.state, 'active');
    assert.deepEqual(after?.approvers, [OWNER, OWNER2]);
    await until('connect instructions', () => postsAbout(world, 'jit_grant_active', id, `D${ENGINEER}`)[0]);
    const hop = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.code, 0, hop.stderr);
    await until('message shows both approvers', () => {
      const shown = JSON.stringify(approvalMessage(world, 'C0APPROVALS', id)?.blocks);
      return /Approved by <@U0OWNER1>, <@U0OWNER2>/.test(shown) && !shown.includes('jit_approve');
    });
    await until('audit trail', () => trail(id).includes('activated'));
    assert.deepEqual(trail(id), ['requested', 'approval-recorded', 'refused', 'approved', 'activated']);
  });
});

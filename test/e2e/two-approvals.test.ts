// A host that needs two approvals, through Slack: the first owner's click is recorded and shown in place, the
// same owner clicking again changes nothing, the second owner's click activates the grant. Each step is a reply
// in the thread of every copy of the approval message, and the times people read are Slack date tokens.
// Shorter approvals: an owner approves a 2h request for 30m (the menu next to Approve, its state sent with the
// click): the grant's line on the jump server ends 30m after activation, and the requester's DM says so.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findButton, selectState } from '../../src/sandbox/slack-sender.ts';
import { ACTION_APPROVE_FOR } from '../../src/slack/approve-for.ts';
import { approvalMessage, auditTypes, blockLines, posts, postsAbout, requestAccess, runJobNow, until } from '../support/flow.ts';
import { sshHop } from '../support/ssh-client.ts';
import { APPROVAL_CHANNEL, AUDIT_CHANNEL, ENGINEER, OWNER, OWNER2, OWNER_GROUP, startWorld, type World } from '../support/world.ts';

describe('a host with approvals: 2', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ approvals: 2, maxDuration: '2h' }); // internal-1, owned by the group of OWNER and OWNER2
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    await world?.stop();
  });

  const ephemerals = (user: string, pattern: RegExp) => world.slack.calls.filter((c) => c.method === 'chat.postEphemeral' && c.args.user === user && pattern.test(c.args.text));
  // The audit channel's trail of one request, read from the posts' metadata.
  const trail = (id: string) => auditTypes(world, id);
  const COPIES = [`D${OWNER}`, `D${OWNER2}`, APPROVAL_CHANNEL];
  /** The steps told in the thread of one copy of the approval message, read from the replies' metadata. */
  const thread = (channel: string, id: string) => {
    const top = approvalMessage(world, channel, id);
    return top ? world.slack.replies(channel, top.ts) : [];
  };
  const stepsIn = (channel: string, id: string) => thread(channel, id).map((m) => (m.metadata?.event_type === 'jit_request_step' ? String(m.metadata.event_payload.step) : '?'));
  /** Waits until every copy's thread tells `steps`, in order. */
  const threadsTell = (id: string, steps: string[]) =>
    until(`threads tell ${steps.join(', ')}`, () => COPIES.every((c) => stepsIn(c, id).join() === steps.join()));
  const DATE_TOKEN = /<!date\^\d+\^\{date_short_pretty\} at \{time\}\|\d{4}-\d\d-\d\dT[\d:.]+Z>/;

  it('needs two different owners: recorded in place after the first, active after the second', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-1 1m two owners please');
    const dm = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    assert.match(JSON.stringify(dm.blocks), /\*Approvals\*\\n0 of 2/);
    // The approval channel's copy mentions the owners (a user group) and says when it times out; the DMs only when.
    const posted = await until('approval channel copy', () => approvalMessage(world, APPROVAL_CHANNEL, id));
    assert.match(JSON.stringify(posted.blocks), new RegExp(`For <!subteam\\^${OWNER_GROUP}>\\. Times out ${DATE_TOKEN.source} unless decided`));
    assert.match(posted.text ?? '', new RegExp(`^<!subteam\\^${OWNER_GROUP}>: `));
    assert.match(JSON.stringify(dm.blocks), /Times out <!date/);
    assert.doesNotMatch(JSON.stringify(dm.blocks), /subteam/);
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
    // The step is a reply in the thread of every copy: who approved, how many so far.
    await threadsTell(id, ['approved']);
    for (const c of COPIES) {
      const [reply] = thread(c, id);
      assert.equal(reply?.text, ':ballot_box_with_check: Approval recorded by <@U0OWNER1> (1 of 2).');
      assert.deepEqual([reply?.metadata?.event_payload.request_id, reply?.metadata?.event_payload.step_by], [id, OWNER]);
    }
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
    // The same owner's second click told nothing; the activation did, naming the approval that made it.
    await threadsTell(id, ['approved', 'activated']);
    assert.match(thread(APPROVAL_CHANNEL, id)[1]?.text ?? '', /^:white_check_mark: Approved by <@U0OWNER2> \(2 of 2\): access is active until \d{4}-/);
    assert.match(JSON.stringify(thread(APPROVAL_CHANNEL, id)[1]?.blocks), /active until <!date\^/);

    // `/jump list` and the audit lines show times as date tokens, never as raw stamps.
    const listed = (await world.sender.command(ENGINEER, 'list')).json.text as string;
    assert.match(listed, new RegExp(`\`${id}\` \\*internal-1\\* active until ${DATE_TOKEN.source}`));
    const lines = posts(world, AUDIT_CHANNEL).filter((c) => c.args.metadata?.event_payload.request_id === id).map((c) => String(c.args.text));
    assert.ok(lines.length >= 5 && lines.every((l) => new RegExp(`^${DATE_TOKEN.source} \\*`).test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => new RegExp(`until ${DATE_TOKEN.source}`).test(l)), 'the grant’s end as a token');

    // Expiry (its job run now) is the last step, in every thread, once.
    await runJobNow(world, 'revoke', id);
    await threadsTell(id, ['approved', 'activated', 'expired']);
    assert.match(thread(`D${OWNER}`, id)[2]?.text ?? '', /^:lock: Expired \d{4}-/);
    await until('expired everywhere', () => /Expired <!date/.test(JSON.stringify(approvalMessage(world, APPROVAL_CHANNEL, id)?.blocks)));
    assert.deepEqual(COPIES.map((c) => stepsIn(c, id).length), [3, 3, 3], 'no step told twice');
  });

  it('approved for 30m of a 2h request: the line ends 30m after activation, the requester is told 30m', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-1 2h a long migration');
    const dm = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    const approve = findButton(dm.blocks, 'jit_approve');
    const click = (who: string, chosen?: string) =>
      world.sender.blockAction(who, { ...approve, message: { channel: dm.channel, ts: dm.ts }, ...(chosen ? { state: selectState(approve.blockId, ACTION_APPROVE_FOR, chosen) } : {}) });
    // Choosing in the menu alone decides nothing (acked); longer than asked (a forged menu value): refused.
    assert.equal((await world.sender.blockAction(OWNER, { actionId: ACTION_APPROVE_FOR, value: '30m', blockId: approve.blockId, message: { channel: dm.channel, ts: dm.ts } })).status, 200);
    assert.equal((await click(OWNER, '3h')).status, 200);
    await until('longer refused', () => ephemerals(OWNER, /You can approve for at most the 2h asked, not 3h\. Nothing was approved\./).length === 1);
    assert.deepEqual((await world.broker.requests.get(id))?.approvers, []);
    // The first owner chooses 30m; the second approves as asked: the shortest choice stands.
    assert.equal((await click(OWNER, '30m')).status, 200);
    await until('recorded', () => /for 30m of the 2h asked \(shortened by <@U0OWNER1>\); 1 more/.test(JSON.stringify(approvalMessage(world, APPROVAL_CHANNEL, id)?.blocks)));
    assert.equal((await click(OWNER2)).status, 200);
    const line = await until('key line', () => blockLines(world).find((l) => l.endsWith(`jit:${id}`)));
    const grant = (await world.broker.requests.get(id))!;
    assert.equal(grant.state, 'active');
    assert.equal(grant.expiresAt, grant.activatedAt! + 30 * 60_000, 'expiresAt = activation + 30m');
    const m = /expiry-time="(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z"/.exec(line)!;
    const expirySeconds = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
    assert.equal(expirySeconds, Math.floor((grant.activatedAt! + 30 * 60_000) / 1000), 'the line’s expiry-time is 30m after activation');
    const connect = await until('connect instructions', () => postsAbout(world, 'jit_grant_active', id, `D${ENGINEER}`)[0]);
    assert.match(JSON.stringify(connect.args.blocks), /approved by <@U0OWNER1> and <@U0OWNER2> for 30m of the 2h asked \(shortened by <@U0OWNER1>\)/);
    assert.deepEqual([connect.args.metadata?.event_payload.approved_ms, connect.args.metadata?.event_payload.shortened_by], [30 * 60_000, OWNER]);
    await until('audit trail', () => trail(id).includes('activated'));
    assert.deepEqual(trail(id), ['requested', 'refused', 'approval-recorded', 'approved', 'activated']);
    await threadsTell(id, ['approved', 'activated']);
    assert.match(thread(APPROVAL_CHANNEL, id)[1]?.text ?? '', /Approved by <@U0OWNER2> \(2 of 2\) for 30m of the 2h asked \(shortened by <@U0OWNER1>\): access is active/);
    await runJobNow(world, 'revoke', id);
    await until('ended', async () => (await world.broker.requests.get(id))?.state === 'expired');
  });
});

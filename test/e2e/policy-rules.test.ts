// Policy rules end to end, through signed requests against real Redis and sshd: a label rule's owners and
// approvals apply to a host that names none; a reason not matching the pattern is refused with its hint and
// nothing is stored; only a host's requesters may request it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { approvalMessage, blockLines, click, metadata, posts, requestAccess, until } from '../support/flow.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { APPROVAL_CHANNEL, AUDIT_CHANNEL, ENGINEER, OUTSIDER, OWNER, OWNER2, OWNER_GROUP, startWorld, type World } from '../support/world.ts';

/** "HH:MM-HH:MM" in UTC from `from` to `to` hours after now (a span past midnight wraps, as the policy reads it). */
function utcHours(from: number, to: number): string {
  const at = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString().slice(11, 16);
  return `${at(from)}-${at(to)}`;
}

describe('policy rules, reason patterns, requesters and auto-approval', () => {
  let world: World;
  before(async () => {
    world = await startWorld({
      breakGlass: { users: [ENGINEER], maxDuration: '30m', reviewWithin: '1h' },
      autoApprove: [
        { users: [ENGINEER], hosts: ['internal-2'], maxDuration: '1h', hours: utcHours(3, 4), timezone: 'UTC' },
        { users: [OWNER_GROUP, ENGINEER], hosts: ['internal-1'], maxDuration: '30m', hours: utcHours(-1, 2), timezone: 'UTC' },
      ],
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
    const id = await requestAccess(world, ENGINEER, 'request internal-1 45m allowed, longer than auto-approval allows');
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /cancelled/);
  });

  it('auto-approval: inside its rule’s hours active with no click (a real ssh hop), outside them it waits for the owners', async () => {
    const pendingBefore = posts(world).filter((c) => metadata(c)?.event_type === 'jit_request_pending').length;
    const r = await world.sender.command(ENGINEER, 'request internal-1 10m routine check');
    const m = /^Request `(\w+)` for \*internal-1\* for 10m auto-approved \(rule 2\)/.exec(r.json.text);
    assert.ok(m, r.json.text);
    const id = m[1]!;
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)) || undefined);
    const hop = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    const dm = await until('connect instructions', () => posts(world, `D${ENGINEER}`).find((c) => metadata(c)?.event_type === 'jit_grant_active' && metadata(c)?.event_payload.request_id === id));
    assert.match(JSON.stringify(dm.args.blocks), /auto-approved \(rule 2\)/);
    assert.equal(metadata(dm)?.event_payload.auto_approved, 2);
    await until('audited', () =>
      posts(world, AUDIT_CHANNEL).find((c) => metadata(c)?.event_payload.request_id === id && metadata(c)?.event_payload.audit_type === 'auto-approved' && /auto-approved \(rule 2\)/.test(c.args.text)),
    );
    assert.equal(posts(world).filter((c) => metadata(c)?.event_type === 'jit_request_pending').length, pendingBefore, 'no owner was asked');
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /revoked/);

    // Rule 1 covers internal-2, but its hours start in three hours: the owners decide.
    const waiting = await requestAccess(world, ENGINEER, 'request internal-2 10m INC-1 not yet');
    assert.equal((await world.broker.requests.get(waiting))?.state, 'pending');
    assert.match((await world.sender.command(ENGINEER, `revoke ${waiting}`)).json.text, /cancelled/);
  });

  it('break-glass: active at once for someone on the list (a real ssh hop), loud to owners, approval channel and audit; an owner acknowledges; anyone else is refused', async () => {
    const refused = await world.sender.command(OUTSIDER, 'breakglass internal-2 10m INC-9 let me in');
    assert.match(refused.json.text, /^You are not on the break-glass list\./);
    const r = await world.sender.command(ENGINEER, 'breakglass internal-2 10m INC-9 primary down, no owner answers');
    const m = /^:rotating_light: Break-glass: access `(\w+)` to \*internal-2\* for 10m is active now/.exec(r.json.text);
    assert.ok(m, r.json.text);
    const id = m[1]!;
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)) || undefined);
    assert.equal(blockLines(world).filter((l) => l.includes('jit:')).length, 1, 'the outsider got nothing installed');
    const hop = await sshHop({ jump: world.jump, target: world.internal2, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    // Loud: each owner by DM and the approval channel (owners mentioned), with Acknowledge; the audit channel.
    for (const channel of [`D${OWNER}`, `D${OWNER2}`, APPROVAL_CHANNEL]) {
      const alert = await until(`alert in ${channel}`, () => world.slack.messages(channel).find((x) => x.metadata?.event_payload.request_id === id));
      assert.equal(alert.metadata?.event_payload.break_glass, 'review-due');
      assert.match(JSON.stringify(alert.blocks), /Break-glass.*took SSH access to \*internal-2\* without approval/);
      assert.ok(findButton(alert.blocks, 'jit_acknowledge'));
      if (channel === APPROVAL_CHANNEL) assert.match(alert.text ?? '', /<@U0OWNER1> <@U0OWNER2>: :rotating_light: BREAK-GLASS/);
    }
    await until('audited', () => posts(world, AUDIT_CHANNEL).find((c) => metadata(c)?.event_payload.request_id === id && metadata(c)?.event_payload.audit_type === 'break-glass' && /BROKE THE GLASS/.test(c.args.text)));

    const dm = world.slack.messages(`D${OWNER}`).find((x) => x.metadata?.event_payload.request_id === id)!;
    const ack = findButton(dm.blocks, 'jit_acknowledge');
    await world.sender.blockAction(OWNER, { actionId: ack.actionId, value: ack.value, blockId: ack.blockId, message: { channel: dm.channel, ts: dm.ts } });
    await until('every copy says it was acknowledged', () =>
      [`D${OWNER}`, `D${OWNER2}`, APPROVAL_CHANNEL].every((c) => {
        const x = world.slack.messages(c).find((y) => y.metadata?.event_payload.request_id === id);
        return x?.metadata?.event_payload.break_glass === 'acknowledged' && !JSON.stringify(x.blocks).includes('jit_acknowledge');
      }) || undefined,
    );
    assert.equal((await world.broker.requests.get(id))?.acknowledgedBy, OWNER);
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /revoked/);
  });

  it('the request form offers each person only the hosts they may request; an auto-approved submission says so in the form', async () => {
    const formOf = async (user: string) => {
      const before = world.slack.views().length;
      assert.equal((await world.sender.command(user, 'request')).status, 200);
      return (await until(`${user}'s form`, () => world.slack.views().slice(before).find((v) => v.user === user))).view;
    };
    const hostsIn = (view: any) => view.blocks[0].element.options.map((o: any) => o.value);
    assert.deepEqual(hostsIn(await formOf(OUTSIDER)), ['internal-2'], 'internal-1 names its requesters, and not them');
    const form = await formOf(ENGINEER);
    assert.deepEqual(hostsIn(form), ['internal-1', 'internal-2']);
    const sent = await world.sender.viewSubmission(ENGINEER, {
      callbackId: form.callback_id,
      privateMetadata: form.private_metadata,
      values: {
        host: { host: { type: 'static_select', selected_option: { value: 'internal-1' } } },
        duration: { duration: { type: 'static_select', selected_option: { value: '15m' } } },
        reason: { reason: { type: 'plain_text_input', value: 'from the form' } },
      },
    });
    assert.equal(sent.json.response_action, 'update', JSON.stringify(sent.json));
    const shown = JSON.stringify(sent.json.view);
    assert.match(shown, /for \*internal-1\* for 15m auto-approved \(rule 2\)/);
    const id = /Request `(\w+)`/.exec(shown)![1]!;
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)) || undefined);
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /revoked/);
  });
});

// The broker against a Slack that refuses or throttles it (the local Slack API's failure injection), with a real
// broker, redis-server and sshd: nothing is lost, nothing is posted twice, and the log says what went wrong.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { approvalMessage, blockLines, requestAccess, until } from '../support/flow.ts';
import { sshHop } from '../support/ssh-client.ts';
import { APPROVAL_CHANNEL, AUDIT_CHANNEL, ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';

describe('the broker when Slack fails', () => {
  let world: World;
  before(async () => {
    // A short activation lease: the reconciler may take over an unsent activation message after 3 s.
    world = await startWorld({ duration: '10m', tuning: { activationLeaseMs: 3000 } });
    const key = await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
    assert.match(key.json?.text ?? '', /Key registered/);
  });
  after(async () => {
    await world?.stop();
  });

  const auditFor = (id: string, type: string) => world.slack.messages(AUDIT_CHANNEL).filter((m) => m.text?.includes(`*${type}*`) && m.text.includes(id));
  const isConnectDm = (id: string, m: { text?: string; blocks?: unknown }) => /Connect with/.test(m.text ?? '') && JSON.stringify(m.blocks ?? []).includes(id);
  const connectDms = (id: string) => world.slack.messages(`D${ENGINEER}`).filter((m) => isConnectDm(id, m));
  /** A log line that matches every pattern (pino puts the message after the error). */
  const logged = (...patterns: RegExp[]) => until(`a log line matching ${patterns.join(' and ')}`, () => world.logs.find((l) => patterns.every((p) => p.test(l))));

  /** Clicks a button of the approval message in the owner's DM, with a trigger id issued by the fake. */
  const click = async (id: string, actionId: string, triggerId = world.slack.issueTriggerId(OWNER)) => {
    const msg = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    const b = findButton(msg.blocks, actionId);
    const res = await world.sender.blockAction(OWNER, { actionId, value: b.value, blockId: b.blockId, message: { channel: msg.channel, ts: msg.ts }, triggerId });
    assert.equal(res.status, 200);
    return triggerId;
  };

  it('Deny opens the reason form with the trigger id of that click; a used trigger gets a clear reply and changes nothing', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-1 5m deny with the click trigger');
    const trigger = await click(id, 'jit_deny');
    const view = await until('the reason form', () => world.slack.views().find((v) => v.view.private_metadata === id));
    assert.equal(view.triggerId, trigger);
    assert.equal(view.user, OWNER);
    assert.equal(view.view.callback_id, 'jit_deny_reason');
    // The same trigger again (Slack lets a trigger open one form): the owner is told, the request stays pending.
    await click(id, 'jit_deny', trigger);
    await until('the reply', () => world.slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === OWNER && /did not open the form .*Click Deny again/.test(c.args.text)));
    await logged(/Slack did not open the deny form/, /Slack views\.open failed: exchanged_trigger_id/);
    assert.equal((await world.broker.requests.get(id))?.state, 'pending');
    assert.equal(world.slack.views().filter((v) => v.view.private_metadata === id).length, 1);
  });

  it('a rate-limited post (429, Retry-After: 1) is sent again after the wait, exactly once: the audit line and the connect DM', async () => {
    const throttled = { status: 429 as const, retryAfter: 1 };
    world.slack.failNext('chat.postMessage', throttled, { match: (a) => a.channel === AUDIT_CHANNEL && /\*requested\*/.test(a.text) });
    const id = await requestAccess(world, ENGINEER, 'request internal-1 5m rate limited');
    await until('the requested audit line', () => auditFor(id, 'requested').length > 0 || undefined);
    world.slack.failNext('chat.postMessage', throttled, { match: (a) => a.channel === `D${ENGINEER}` && isConnectDm(id, a) });
    await click(id, 'jit_approve');
    await until('the connect DM', () => connectDms(id).length > 0 || undefined);
    // Later audit lines are posted after the earlier ones were: once these are there, nothing is still owed.
    await until('the activated audit line', () => auditFor(id, 'activated').length > 0 || undefined);
    assert.equal(auditFor(id, 'requested').length, 1);
    assert.equal(connectDms(id).length, 1);
    const limited = world.slack.calls.filter((c) => c.status === 429);
    assert.deepEqual(limited.map((c) => c.args.channel), [AUDIT_CHANNEL, `D${ENGINEER}`]);
    // Retried no sooner than Slack said (a lower bound only: a slow machine just waits longer).
    const gaps = limited.map((c) => {
      const retry = world.slack.calls.find((r) => r.at >= c.at && r !== c && r.method === c.method && r.args.channel === c.args.channel && !r.error);
      assert.ok(retry && retry.at - c.at >= 990, `retried after ${retry ? retry.at - c.at : '(never)'} ms`);
      return retry.at - c.at;
    });
    console.log(`429 with Retry-After: 1 → retried after ${gaps.join(' and ')} ms`);
  });

  it('channel_not_found for the connect DM: the grant works, the log names the channel, the DM comes once Slack takes it', async () => {
    world.slack.failNext('chat.postMessage', 'channel_not_found', { times: Infinity, match: (a) => a.channel === `D${ENGINEER}` });
    const id = await requestAccess(world, ENGINEER, 'request internal-1 5m dm channel missing');
    await click(id, 'jit_approve');
    await until('the key line', () => blockLines(world).some((l) => l.includes(id)) || undefined);
    assert.equal((await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath })).code, 0);
    await logged(new RegExp(`Slack chat\\.postMessage \\(channel D${ENGINEER}\\) failed: channel_not_found`));
    assert.equal(connectDms(id).length, 0);
    // Slack takes posts again: the activation message is still owed, and the reconciler sends it, once.
    world.slack.clearFailures();
    await until(
      'the connect DM',
      async () => {
        await world.broker.reconciler.run();
        return connectDms(id).length > 0 || undefined;
      },
      60_000,
      200,
    );
    await world.broker.reconciler.run();
    assert.equal(connectDms(id).length, 1);
    assert.equal((await world.broker.requests.get(id))?.state, 'active');
  });

  it('missing_scope for the audit channel: the log names the scope, the event stays in the stream and is posted once the scope is there', async () => {
    world.slack.failNext('chat.postMessage', { error: 'missing_scope', needed: 'chat:write', provided: 'commands,im:write' }, { times: Infinity, match: (a) => a.channel === AUDIT_CHANNEL });
    const id = await requestAccess(world, ENGINEER, 'request internal-1 5m audit without scope');
    await logged(/could not post to Slack/, new RegExp(`Slack chat\\.postMessage \\(channel ${AUDIT_CHANNEL}\\) failed: missing_scope: the app needs the scope chat:write \\(it has: commands,im:write\\)`));
    assert.equal(auditFor(id, 'requested').length, 0);
    world.slack.clearFailures();
    await until('the requested audit line', () => auditFor(id, 'requested').length > 0 || undefined, 60_000);
    // A later event reaches the channel after the earlier one: the requested line came once.
    const cancel = await world.sender.command(ENGINEER, `revoke ${id}`);
    assert.equal(cancel.status, 200);
    await until('the cancelled audit line', () => auditFor(id, 'cancelled').length > 0 || undefined, 60_000);
    assert.equal(auditFor(id, 'requested').length, 1);
  });

  it('not_authed for the approval channel: logged naming the channel; the owners still get their DMs and can approve', async () => {
    // The approval post itself (not a thread reply of an earlier request's, which may still be on its way).
    world.slack.failNext('chat.postMessage', 'not_authed', { match: (a) => a.channel === APPROVAL_CHANNEL && a.thread_ts === undefined });
    const id = await requestAccess(world, ENGINEER, 'request internal-1 5m approval channel refuses');
    await logged(/could not post approval request/, new RegExp(`Slack chat\\.postMessage \\(channel ${APPROVAL_CHANNEL}\\) failed: not_authed: no token was sent`));
    assert.equal(approvalMessage(world, APPROVAL_CHANNEL, id), undefined);
    await click(id, 'jit_approve');
    await until('the key line', () => blockLines(world).some((l) => l.includes(id)) || undefined);
  });
});

// The notifier against the local Slack fake: every post carries metadata, and the crash-safe duplicate
// checks find an earlier post by its metadata, never by its wording.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { startLocalSlackApi, type LocalSlackApi } from '../../src/sandbox/local-slack-api.ts';
import { SlackNotifier } from '../../src/slack/slack-notifier.ts';
import { createWebClient } from '../../src/slack/web-client.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

describe('SlackNotifier', () => {
  let slack: LocalSlackApi;
  let notifier: SlackNotifier;
  before(async () => {
    slack = await startLocalSlackApi({ botToken: 'xoxb-test' });
    const client = createWebClient('xoxb-test', slack.apiUrl);
    notifier = new SlackNotifier({ client, auditChannel: 'C0AUDIT', approvalChannel: 'C0APPROVALS', logger: pino({ level: 'silent' }) });
  });
  after(() => slack?.stop());

  const active = (id: string) => request({ id, requester: 'U0ENG', host: 'web-1', state: 'active', activatedAt: Date.now() - 1000, expiresAt: Date.now() + 60_000 });

  it('finds an activation message already sent by its metadata, for that request only', async () => {
    const policy = samplePolicy();
    const r = active('rsent1');
    await notifier.grantActivated(r, connectInstructions(policy.hosts[1]!, policy.jumpHosts[0]!));
    const [posted] = slack.messages('DU0ENG');
    assert.deepEqual(posted?.metadata?.event_type, 'jit_grant_active');
    assert.deepEqual(posted?.metadata?.event_payload, { request_id: 'rsent1', host: 'web-1', state: 'active', requester: 'U0ENG', jump_host: 'bastion', approvals: 0, required_approvals: 1, expires_at: r.expiresAt });
    assert.equal(await notifier.activationMessageSent(r), true);
    assert.equal(await notifier.activationMessageSent(active('rother1')), false);
  });

  it('a grant ended by a key change says so in its metadata, with the key it was approved for', async () => {
    const r = { ...active('rkey1'), state: 'revoked' as const, decidedBy: 'U0ENG', endReason: 'key-changed' as const, keyFingerprint: 'SHA256:abc' };
    await notifier.grantEnded(r);
    const posted = slack.messages('DU0ENG').find((m) => m.metadata?.event_payload?.request_id === 'rkey1');
    assert.equal(posted?.metadata?.event_type, 'jit_grant_ended');
    assert.deepEqual([posted?.metadata?.event_payload.end_reason, posted?.metadata?.event_payload.key_fingerprint], ['key-changed', 'SHA256:abc']);
  });

  it('does not take prose for a sent message: the same words without metadata do not count', async () => {
    const r = active('rprose1');
    const client = createWebClient('xoxb-test', slack.apiUrl);
    await client.chat.postMessage({ channel: 'DU0ENG', text: `Access to web-1 is active until … Connect with: ssh -J … (request ${r.id})` });
    assert.equal(await notifier.activationMessageSent(r), false);
    await notifier.grantNotActivated({ ...r, state: 'failed' });
    assert.equal(await notifier.activationMessageSent(r), true, 'a failure notice is the activation message too');
  });

  it('posts audit lines with their audit id and finds a repeat by it', async () => {
    const event = { type: 'refused' as const, at: Date.now(), actor: 'U0MALLORY', requestId: 'raud1', host: 'web-1', code: 'not-owner' as const };
    await notifier.postAudit(event, '1-1');
    const [line] = slack.messages('C0AUDIT');
    assert.equal(line?.metadata?.event_type, 'jit_audit');
    assert.deepEqual(line?.metadata?.event_payload, { audit_id: '1-1', audit_type: 'refused', request_id: 'raud1', host: 'web-1', state: 'refused', at: event.at, actor: 'U0MALLORY', code: 'not-owner' });
    assert.equal(await notifier.alreadyPosted(event, '1-1'), true);
    assert.equal(await notifier.alreadyPosted(event, '1-2'), false, 'the same event under another entry id was not posted');
  });

  describe('the approval messages and their threads', () => {
    let withPolicy: SlackNotifier;
    before(() => {
      const client = createWebClient('xoxb-test', slack.apiUrl);
      withPolicy = new SlackNotifier({ client, auditChannel: 'C0AUDIT', approvalChannel: 'C0APPROVALS', logger: pino({ level: 'silent' }), policy: samplePolicy() });
    });
    const contexts = (m: { blocks?: unknown[] } | undefined) =>
      ((m?.blocks ?? []) as { type: string; elements?: { text: string }[] }[]).filter((b) => b.type === 'context').flatMap((b) => b.elements!.map((e) => e.text)).join('\n');

    it('the approval channel’s post mentions the host’s owners and says when the request times out; the DMs only the time', async () => {
      const policy = samplePolicy();
      const r = request({ id: 'rask1', host: 'db-prod-1', requester: 'U0ENG', requiredApprovals: 2, createdAt: Date.UTC(2026, 10, 23, 16, 0, 0) });
      const refs = await withPolicy.requestPending(r, ['U0ALICE', 'U0BOB']);
      assert.equal(refs.length, 3);
      const timesOut = `Times out <!date^${(r.createdAt + policy.defaults.approvalTimeout) / 1000}^{date_short_pretty} at {time}|`;
      const channel = slack.messages('C0APPROVALS').find((m) => m.metadata?.event_payload.request_id === 'rask1');
      assert.ok(contexts(channel).includes(`For <@U0ALICE> <@U0BOB>. ${timesOut}`), contexts(channel));
      assert.match(channel?.text ?? '', /^<@U0ALICE> <@U0BOB>: <@U0ENG> requests access/);
      const dm = slack.messages('DU0ALICE').find((m) => m.metadata?.event_payload.request_id === 'rask1');
      assert.ok(contexts(dm).includes(timesOut), contexts(dm));
      assert.doesNotMatch(JSON.stringify(dm), /For <@/, 'no mention in an owner’s DM');
      // An approval recorded re-renders each copy as it was: the channel's keeps its mentions.
      await withPolicy.approvalRecorded({ ...r, approvers: ['U0ALICE'] }, refs);
      const updated = slack.messages('C0APPROVALS').find((m) => m.ts === channel?.ts);
      assert.match(contexts(updated), /For <@U0ALICE> <@U0BOB>\./);
      assert.match(contexts(updated), /Approved by <@U0ALICE>; 1 more/);
      // A user group is mentioned as a group.
      await withPolicy.requestPending(request({ id: 'rask2', host: 'cache-1' }), []);
      assert.match(contexts(slack.messages('C0APPROVALS').find((m) => m.metadata?.event_payload.request_id === 'rask2')), /^For <!subteam\^S0CACHE>\. Times out/m);
    });

    it('tells a step as a reply in the thread of every copy, with jit_request_step metadata; a copy gone does not stop the others', async () => {
      const r = request({ id: 'rthr1', host: 'web-1', requester: 'U0ENG' });
      const refs = await withPolicy.requestPending(r, ['U0ALICE']);
      const gone = { channel: 'DU0GONE', ts: '1700000000.999999' };
      const active = { ...r, state: 'active' as const, approvers: ['U0ALICE'], expiresAt: Date.now() + 60_000 };
      await withPolicy.requestStep(active, { kind: 'activated' }, [gone, ...refs]);
      for (const ref of refs) {
        const replies = slack.replies(ref.channel, ref.ts);
        assert.equal(replies.length, 1, ref.channel);
        assert.match(replies[0]!.text ?? '', /^:white_check_mark: Approved by <@U0ALICE>: access is active until /);
        assert.deepEqual([replies[0]!.metadata?.event_type, replies[0]!.metadata?.event_payload.step, replies[0]!.metadata?.event_payload.state], ['jit_request_step', 'activated', 'active']);
      }
      assert.equal(slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === 'DU0GONE').at(-1)?.error, 'thread_not_found');
    });
  });

  it('gives jump-host alerts and key changes their own event types', async () => {
    await notifier.postAudit({ type: 'jump-host-alert', at: Date.now(), host: 'bastion', detail: 'x' }, '2-1');
    await notifier.postAudit({ type: 'key-removed', at: Date.now(), actor: 'U0ENG' }, '2-2');
    const types = slack.messages('C0AUDIT').slice(-2).map((m) => [m.metadata?.event_type, m.metadata?.event_payload?.host, m.metadata?.event_payload?.state]);
    assert.deepEqual(types, [
      ['jit_jump_host_alert', 'bastion', 'alert'],
      ['jit_key_changed', '', 'removed'],
    ]);
  });
});

// The words of the approval thread's replies, of the times people read (date tokens that read in a sentence),
// and of what the approval message says while it waits (when it times out; the channel's copy: whom it asks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import type { AccessRequest, RequestState } from '../../src/domain/request-state.ts';
import type { RequestStep } from '../../src/domain/request-step.ts';
import { requestStepMetadata } from '../../src/slack/message-metadata.ts';
import { approvalMessage, auditLine, connectMessage, outcomeText, replyText, requesterTexts } from '../../src/slack/messages.ts';
import { ownerMention } from '../../src/slack/mrkdwn.ts';
import { checkMessage } from '../../src/sandbox/slack-checks.ts';
import { slackDate, withDateFallbacks } from '../../src/slack/slack-date.ts';
import { stepMessage } from '../../src/slack/thread-messages.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

const AT = Date.UTC(2026, 10, 23, 18, 30, 0);
const TOKEN = '<!date^1795458600^{date_short_pretty} at {time}|2026-11-23T18:30:00.000Z>';
const r = (o: Partial<AccessRequest>) => request({ approvers: ['U0ALICE'], expiresAt: AT, endedAt: AT, ...o });
const line = (req: AccessRequest, step: RequestStep) => (stepMessage(req, step).blocks[0] as unknown as { text: { text: string } }).text.text;

describe('slackDate', () => {
  it('is a date token that reads in a sentence ("today at 06:32"), with the UTC ISO stamp as its fallback', () => {
    assert.equal(slackDate(AT), TOKEN);
    assert.equal(slackDate(AT + 999), TOKEN, 'whole seconds');
    assert.equal(withDateFallbacks(`Expired ${slackDate(AT)}, until ${slackDate(0)}.`), 'Expired 2026-11-23T18:30:00.000Z, until 1970-01-01T00:00:00.000Z.');
  });

  it('never stands after "at" in anything the broker says (no "at today at 06:32"), nor as a raw ISO stamp', () => {
    const states: RequestState[] = ['pending', 'active', 'expired', 'revoked', 'denied', 'cancelled', 'timed-out', 'failed'];
    const policy = samplePolicy();
    const said = [
      ...states.map((state) => outcomeText(r({ state, decidedBy: 'U0BOB' }))),
      outcomeText(r({ state: 'revoked', endReason: 'key-changed' })),
      outcomeText(r({ state: 'revoked', endReason: 'jump-host-retired' })),
      ...connectMessage(r({ state: 'active' }), connectInstructions(policy.hosts[0]!, policy.jumpHosts[0]!)).blocks.map((b) => JSON.stringify(b)),
      replyText({ kind: 'list', open: [r({ state: 'active' }), r({ state: 'pending' })], awaiting: [r({ state: 'pending' })], onTheirHosts: [r({ state: 'active' })] }),
      replyText({ kind: 'key', key: { type: 'ssh-ed25519', fingerprint: 'SHA256:abc', publicKey: 'ssh-ed25519 AAAA', addedAt: AT } as never }),
      auditLine({ type: 'approved', at: AT, actor: 'U0BOB', requestId: 'rabc123', expiresAt: AT }),
      JSON.stringify(approvalMessage(r({ state: 'pending', approvers: [] }), { timesOutAt: AT, mention: ['U0ALICE'] }).blocks),
      ...ALL_STEPS.map((s) => line(r({ state: 'revoked', decidedBy: 'U0BOB', usage: 'not used' }), s)),
      requesterTexts.grantEnded(r({ state: 'expired' })),
    ];
    for (const text of said) {
      assert.doesNotMatch(text, / at <!date/, text);
      // Outside a token's fallback, no ISO stamp: people read the token, in their own time zone.
      assert.doesNotMatch(text.replace(/<!date\^[^>]*>/g, ''), /\d{4}-\d\d-\d\dT\d\d:\d\d/, text);
    }
    assert.ok(said.filter((t) => t.includes('<!date^')).length >= 12, 'the times are there, as tokens');
  });

  it('the audit line starts with the time as a token and names the grant’s end as one', () => {
    assert.equal(auditLine({ type: 'approved', at: AT, actor: 'U0BOB', requestId: 'rabc123', expiresAt: AT }), `${TOKEN} *approved* <@U0BOB> approved \`rabc123\` until ${TOKEN}`);
  });
});

const ALL_STEPS: RequestStep[] = [
  { kind: 'approved', by: 'U0BOB', approvals: 1, required: 2 },
  { kind: 'activated' },
  { kind: 'not-activated' },
  { kind: 'denied' },
  { kind: 'cancelled' },
  { kind: 'timed-out' },
  { kind: 'expired' },
  { kind: 'revoked' },
  { kind: 'extended', durationMs: 3_600_000, endsAt: AT, approvedBy: ['U0BOB'] },
];

describe('thread replies: one per step of the request', () => {
  const cases: [string, AccessRequest, RequestStep, string][] = [
    ['an approval recorded, by whom, how many', r({ state: 'pending', approvers: ['U0BOB'], requiredApprovals: 2 }), ALL_STEPS[0]!, ':ballot_box_with_check: Approval recorded by <@U0BOB> (1 of 2).'],
    ['activated: by the last approval, until when', r({ state: 'active', approvers: ['U0BOB', 'U0ALICE'], requiredApprovals: 2 }), { kind: 'activated' }, `:white_check_mark: Approved by <@U0ALICE> (2 of 2): access is active until ${TOKEN}. The requester has the connect instructions.`],
    ['activated by the one approval needed', r({ state: 'active' }), { kind: 'activated' }, `:white_check_mark: Approved by <@U0ALICE>: access is active until ${TOKEN}. The requester has the connect instructions.`],
    ['not activated: installing failed', r({ state: 'failed' }), { kind: 'not-activated' }, ':warning: Approved, but installing the key on the jump server failed.'],
    ['not activated: the key changed', r({ state: 'failed', endReason: 'key-changed' }), { kind: 'not-activated' }, ':warning: Approved, but not installed: the requester’s key changed after the request.'],
    ['denied: by whom, why (escaped)', r({ state: 'denied', decidedBy: 'U0BOB', denyReason: 'use the replica <!here>' }), { kind: 'denied' }, ':x: Denied by <@U0BOB>: use the replica &lt;!here&gt;'],
    ['cancelled by the requester', r({ state: 'cancelled', decidedBy: 'U0ENG' }), { kind: 'cancelled' }, ':heavy_minus_sign: Cancelled by the requester.'],
    ['cancelled by a key change', r({ state: 'cancelled', decidedBy: 'U0ENG', endReason: 'key-changed' }), { kind: 'cancelled' }, ':heavy_minus_sign: Cancelled: the requester’s key changed after the request.'],
    ['timed out', r({ state: 'timed-out' }), { kind: 'timed-out' }, ':heavy_minus_sign: Timed out without a decision.'],
    ['expired, with the usage line', r({ state: 'expired', usage: 'used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22' }), { kind: 'expired' }, `:lock: Expired ${TOKEN}. Used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22.`],
    ['ended by I’m done (the requester), with the usage line', r({ state: 'revoked', decidedBy: 'U0ENG', usage: 'not used' }), { kind: 'revoked' }, `:lock: Revoked by <@U0ENG> ${TOKEN}. Not used.`],
    ['revoked by an owner', r({ state: 'revoked', decidedBy: 'U0BOB' }), { kind: 'revoked' }, `:lock: Revoked by <@U0BOB> ${TOKEN}.`],
    ['extended by approval: by how much, who approved, the new end', r({ state: 'active' }), ALL_STEPS[8]!, `:hourglass_flowing_sand: Extended by 1h (approved by <@U0BOB>): access now ends ${TOKEN}.`],
    ['extended within selfExtend', r({ state: 'active' }), { kind: 'extended', durationMs: 1_200_000, endsAt: AT, approvedBy: [] }, `:hourglass_flowing_sand: Extended by 20m (within selfExtend): access now ends ${TOKEN}.`],
    ['ended by a key change', r({ state: 'revoked', decidedBy: 'U0ENG', endReason: 'key-changed' }), { kind: 'revoked' }, `:lock: Ended ${TOKEN}: the requester’s key changed; access is granted for the approved key only.`],
  ];
  for (const [what, req, step, expected] of cases)
    it(what, () => {
      const m = stepMessage(req, step);
      assert.equal(line(req, step), expected);
      assert.equal(m.text, withDateFallbacks(expected), 'the notification text has the fallbacks');
      assert.equal(checkMessage({ channel: 'C1', thread_ts: '1.1', ...m }), undefined, 'Slack takes it');
    });

  it('carries jit_request_step metadata: the request, its state, the step and who took it', () => {
    const req = r({ state: 'pending', approvers: ['U0BOB'], requiredApprovals: 2 });
    const meta = requestStepMetadata(req, ALL_STEPS[0]!);
    assert.equal(meta.event_type, 'jit_request_step');
    assert.deepEqual([meta.event_payload.request_id, meta.event_payload.host, meta.event_payload.state, meta.event_payload.step, meta.event_payload.step_by], ['rabc123', 'db-prod-1', 'pending', 'approved', 'U0BOB']);
    assert.equal(requestStepMetadata(r({ state: 'expired' }), { kind: 'expired' }).event_payload.step_by, undefined);
  });
});

describe('the approval message while it waits', () => {
  const contextOf = (m: { blocks: unknown[] }) =>
    (m.blocks as { type: string; elements?: { text: string }[] }[]).filter((b) => b.type === 'context').flatMap((b) => b.elements!.map((e) => e.text));

  it('says when the request times out; the approval channel’s copy mentions the owners, users and groups', () => {
    const pending = r({ state: 'pending', approvers: [] });
    const dm = approvalMessage(pending, { timesOutAt: AT });
    assert.ok(contextOf(dm).includes(`Times out ${TOKEN} unless decided.`), contextOf(dm).join('\n'));
    assert.doesNotMatch(JSON.stringify(dm), /<@U0ALICE>|subteam/, 'no mention in a DM');
    const channel = approvalMessage(pending, { timesOutAt: AT, mention: ['U0ALICE', 'S0DBA'] });
    assert.ok(contextOf(channel).includes(`For <@U0ALICE> <!subteam^S0DBA>. Times out ${TOKEN} unless decided.`), contextOf(channel).join('\n'));
    assert.match(channel.text, /^<@U0ALICE> <!subteam\^S0DBA>: <@U0ENG> requests access to db-prod-1/, 'the notification mentions them too');
    assert.equal(checkMessage({ channel: 'C1', ...channel }), undefined);
  });

  it('once decided, neither: the outcome replaces them', () => {
    const decided = approvalMessage(r({ state: 'denied', decidedBy: 'U0BOB' }), { timesOutAt: AT, mention: ['U0ALICE'] });
    assert.doesNotMatch(JSON.stringify(decided), /Times out|<@U0ALICE>/);
  });

  it('mentions a user group as a group and a user as a user; anything else is escaped text', () => {
    assert.deepEqual(['U0ALICE', 'W0ENT', 'S0DBA', '<!channel>'].map(ownerMention), ['<@U0ALICE>', '<@W0ENT>', '<!subteam^S0DBA>', '&lt;!channel&gt;']);
  });
});

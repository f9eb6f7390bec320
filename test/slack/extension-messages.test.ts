// The words of extending a grant: the owners' approval message and its outcome, reminders, the requester's DMs,
// the Extend form; each accepted by Slack's checks (the local fake's), times as date tokens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { approvalMessage, EXTEND_FIELDS, extendModal, outcomeText, reminderText, replyText, requesterTexts, VIEW_EXTEND } from '../../src/slack/messages.ts';
import { checkMessage, checkView } from '../../src/sandbox/slack-checks.ts';
import { request } from '../domain/fixtures.ts';

const END = Date.UTC(2026, 10, 23, 18, 30, 0);
const grant = (o: Partial<AccessRequest> = {}) => request({ id: 'rgrant1', state: 'active', expiresAt: END, approvers: ['U0OWNER'], ...o });
const extension = (o: Partial<AccessRequest> = {}) => request({ id: 'rext1', extends: 'rgrant1', durationMs: 3_600_000, reason: 'still migrating', ...o });

describe('extension messages', () => {
  it('asks the owners to extend a named grant by the added time, with the same buttons, which Slack accepts', () => {
    const m = approvalMessage(extension());
    const text = JSON.stringify(m.blocks);
    assert.match(m.text, /asks to extend access to db-prod-1 by 1h/);
    assert.match(text, /asks to extend SSH access to \*db-prod-1\* \(grant `rgrant1`\) by 1h/);
    assert.match(text, /\*Extension\*\\n1h/);
    assert.match(text, /jit_approve/);
    assert.equal(checkMessage({ text: m.text, blocks: m.blocks }), undefined);
  });

  it('shows the outcome: extended until the new end (a date token), or not decided before the grant ended', () => {
    assert.match(outcomeText(extension({ state: 'extended', approvers: ['U0OWNER'], expiresAt: END })), new RegExp(`extended by 1h\\. Access now ends <!date\\^${END / 1000}\\^`));
    assert.match(outcomeText(extension({ state: 'cancelled', endReason: 'grant-ended' })), /Not decided before the grant ended: nothing was extended/);
  });

  it('reminds owners of a waiting extension as an extension of its grant', () => {
    assert.match(reminderText(extension(), 15 * 60_000, false), /request `rext1` to extend `rgrant1` on \*db-prod-1\* by 1h has waited 15m/);
  });

  it('tells the requester: extended (new end), denied or timed out (access ends as planned), approved too late', () => {
    assert.match(requesterTexts.grantExtended(grant({ expiresAt: END + 3_600_000 }), extension({ approvers: ['U0OWNER'] })), /extended by 1h, approved by <@U0OWNER>: it now ends <!date\^/);
    assert.match(requesterTexts.requestDenied(extension({ state: 'denied', decidedBy: 'U0OWNER', denyReason: 'wrap up' })), /extension `rext1` of `rgrant1` .* denied by <@U0OWNER>: wrap up Your access ends as planned/);
    assert.match(requesterTexts.requestTimedOut(extension({ state: 'timed-out' })), /timed out without a decision\. Your access ends as planned/);
    assert.match(requesterTexts.requestCancelled(extension({ state: 'cancelled', endReason: 'grant-ended' })), /approved only after your access had ended: nothing was extended/);
  });

  it('answers the requester: extended at once, or sent to the owners while the grant runs on', () => {
    assert.match(replyText({ kind: 'extended', id: 'rgrant1', host: 'db-prod-1', durationMs: 600_000, expiresAt: END }), /extended by 10m: it now ends <!date\^/);
    const sent = { kind: 'extension-sent', id: 'rext1', grantId: 'rgrant1', host: 'db-prod-1', durationMs: 3_600_000, requiredApprovals: 2, selfExtendMs: 0 } as const;
    assert.match(replyText(sent), /^Extension `rext1` of `rgrant1` .*sent to its owners \(2 approvals needed\)\. Your access runs on meanwhile/);
    assert.match(replyText({ ...sent, selfExtendMs: 1_800_000 }), /^Past the 30m you may extend a grant on db-prod-1 by yourself \(selfExtend\): Extension `rext1`/);
  });

  it('the Extend form: the grant as private_metadata, a duration prefilled, an optional reason, which Slack accepts', () => {
    const v = extendModal(grant(), 1_800_000) as unknown as { callback_id: string; private_metadata: string; blocks: { block_id?: string; element?: { initial_value?: string } }[] };
    assert.deepEqual([v.callback_id, v.private_metadata], [VIEW_EXTEND, 'rgrant1']);
    assert.equal(v.blocks.find((b) => b.block_id === EXTEND_FIELDS.duration)?.element?.initial_value, '30m');
    assert.equal(checkView(v), undefined);
  });
});

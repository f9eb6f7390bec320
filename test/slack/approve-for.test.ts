// Shorter approvals on Slack: the menu next to Approve, the choice read from a click's state, and the words
// that say a grant was shortened (approval message, activation DM, thread reply).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { approvalChoices, checkApprovedDuration } from '../../src/domain/shorter-approval.ts';
import { checkMessage } from '../../src/sandbox/slack-checks.ts';
import { selectState } from '../../src/sandbox/slack-sender.ts';
import { ACTION_APPROVE_FOR, chosenApproveFor } from '../../src/slack/approve-for.ts';
import { ACTION_APPROVE, approvalMessage, connectMessage, outcomeText } from '../../src/slack/messages.ts';
import { stepMessage } from '../../src/slack/thread-messages.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('shorter approvals: the choices', () => {
  it('offers the asked duration first, then the standard shorter ones down to minDuration', () => {
    assert.deepEqual(approvalChoices(2 * HOUR, 5 * MIN), [2 * HOUR, HOUR, 30 * MIN, 15 * MIN]);
    assert.deepEqual(approvalChoices(90 * MIN, 30 * MIN), [90 * MIN, HOUR, 30 * MIN]);
    assert.deepEqual(approvalChoices(15 * MIN, 5 * MIN), [15 * MIN], 'nothing shorter to offer');
  });

  it('checks a choice: as asked, shorter, longer, under the minimum, for an extension', () => {
    const r = { durationMs: 2 * HOUR };
    assert.deepEqual(checkApprovedDuration(r, undefined, 5 * MIN), { ok: true, value: undefined });
    assert.deepEqual(checkApprovedDuration(r, '2h', 5 * MIN), { ok: true, value: undefined });
    assert.deepEqual(checkApprovedDuration(r, '30m', 5 * MIN), { ok: true, value: 30 * MIN });
    const longer = checkApprovedDuration(r, '3h', 5 * MIN);
    assert.equal(!longer.ok && longer.code, 'approve-longer-than-asked');
    const under = checkApprovedDuration(r, '1m', 5 * MIN);
    assert.equal(!under.ok && under.code, 'approve-under-min');
    const ext = checkApprovedDuration({ ...r, extends: 'rgrant' }, '30m', 5 * MIN);
    assert.equal(!ext.ok && ext.code, 'approve-shorter-extension');
  });
});

describe('shorter approvals: the approval message', () => {
  const r = request({ durationMs: 2 * HOUR });

  it('a pending request has the menu next to Approve, the asked duration selected; the fake Slack accepts it', () => {
    const m = approvalMessage(r, { minMs: 5 * MIN });
    assert.equal(checkMessage({ channel: 'C1', ...m }), undefined);
    const actions = m.blocks.find((b) => b.type === 'actions') as unknown as { block_id: string; elements: { type: string; action_id: string; initial_option?: { value: string }; options?: { value: string }[] }[] };
    assert.deepEqual(actions.elements.map((e) => e.action_id), [ACTION_APPROVE, ACTION_APPROVE_FOR, 'jit_deny']);
    const menu = actions.elements[1]!;
    assert.equal(menu.type, 'static_select');
    assert.equal(menu.initial_option?.value, '2h');
    assert.deepEqual(menu.options?.map((o) => o.value), ['2h', '1h', '30m', '15m']);
    // What Slack sends with the Approve click: the menu's state by block id and action id.
    assert.equal(chosenApproveFor(selectState(actions.block_id, ACTION_APPROVE_FOR, '30m'), actions.block_id), '30m');
    assert.equal(chosenApproveFor(undefined, actions.block_id), undefined, 'no state: as asked');
  });

  it('no menu for an extension, nor for a decided request', () => {
    const ext = approvalMessage(request({ durationMs: 2 * HOUR, extends: 'rgrant' }), { minMs: 5 * MIN });
    assert.doesNotMatch(JSON.stringify(ext.blocks), /static_select/);
    assert.doesNotMatch(JSON.stringify(approvalMessage({ ...r, state: 'active', approvers: ['U0ALICE'], expiresAt: 1 }).blocks), /static_select/);
  });

  it('says the grant was shortened and by whom: the message, the DM, the thread', () => {
    const active = { ...r, state: 'active' as const, approvers: ['U0ALICE'], approvedMs: 30 * MIN, shortenedBy: 'U0ALICE', activatedAt: 0, expiresAt: 30 * MIN };
    assert.match(outcomeText(active), /Approved by <@U0ALICE> for 30m of the 2h asked \(shortened by <@U0ALICE>\)\. Active until/);
    const dm = connectMessage(active, connectInstructions(samplePolicy().hosts[0]!, samplePolicy().jumpHosts[0]!));
    assert.match(JSON.stringify(dm.blocks), /approved by <@U0ALICE> for 30m of the 2h asked \(shortened by <@U0ALICE>\)/);
    assert.match(stepMessage(active, { kind: 'activated' }).text, /Approved by <@U0ALICE> for 30m of the 2h asked/);
    const pending = { ...r, requiredApprovals: 2, approvers: ['U0BOB'], approvedMs: HOUR, shortenedBy: 'U0BOB' };
    assert.match(outcomeText(pending), /Approved by <@U0BOB> for 1h of the 2h asked \(shortened by <@U0BOB>\); 1 more/);
    assert.doesNotMatch(outcomeText({ ...active, approvedMs: undefined, shortenedBy: undefined }), /asked/, 'as asked: nothing said');
  });
});

// The I'm done and Request again buttons and the request form: where they appear, what they carry, and that
// Slack accepts them (the local Slack's Block Kit checks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import {
  ACTION_EXTEND,
  ACTION_IM_DONE,
  ACTION_REQUEST_AGAIN,
  connectMessage,
  fieldOfReply,
  refusalText,
  requestAgainModal,
  requesterMessages,
  requestSentView,
  VIEW_REQUEST_AGAIN,
} from '../../src/slack/messages.ts';
import { checkMessage, checkView } from '../../src/sandbox/slack-checks.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

type Button = { action_id: string; value: string; text: { text: string } };
const buttons = (blocks: unknown[]): Button[] =>
  (blocks as { type: string; elements?: Button[] }[]).filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);

const AT = Date.UTC(2026, 10, 23, 17, 0, 0);
const active = request({ state: 'active', approvers: ['U0ALICE'], activatedAt: AT, expiresAt: AT + 3_600_000, keyFingerprint: 'SHA256:abc' });

describe("I'm done button", () => {
  it("is on the activation DM and the expiry warning (beside Extend), its text starting with I'm done and its value the request id only", () => {
    const policy = samplePolicy();
    const messages = [connectMessage(active, connectInstructions(policy.hosts[0]!, policy.jumpHosts[0]!)), requesterMessages.expiryWarning(active, 600_000)];
    for (const [i, m] of messages.entries()) {
      const [b, ...more] = buttons(m.blocks);
      // The warning also offers Extend (its text starting "Extend", its value the grant id only).
      assert.deepEqual(
        more.map((x) => [x.action_id, x.text.text.split(/\W/)[0], x.value]),
        i === 1 ? [[ACTION_EXTEND, 'Extend', active.id]] : [],
      );
      assert.equal(b!.action_id, ACTION_IM_DONE);
      assert.match(b!.text.text, /^I'm done/);
      assert.equal(b!.value, active.id);
      assert.equal(checkMessage({ channel: 'D1', ...m }), undefined, 'Slack accepts it');
    }
  });

  it('is gone from the DM once the grant ended, which says so and offers Request again', () => {
    const mine = requesterMessages.endedInPlace({ ...active, state: 'revoked', decidedBy: active.requester, endedAt: AT + 60_000, usage: 'used 1 min in 1 connection' });
    assert.match(mine.text, /^:lock: You ended your access to \*db-prod-1\* \(`rabc123`\)\. Used 1 min in 1 connection\.$/);
    const expired = requesterMessages.endedInPlace({ ...active, state: 'expired' });
    assert.match(expired.text, /has ended: it is expired/);
    for (const m of [mine, expired]) {
      assert.deepEqual(buttons(m.blocks).map((b) => b.action_id), [ACTION_REQUEST_AGAIN]);
      assert.equal(checkMessage({ channel: 'D1', ...m }), undefined);
    }
  });
});

describe('Request again button', () => {
  it('is on the DMs for denied, timed-out, expired and revoked requests, its value the request id', () => {
    const ended = [
      requesterMessages.requestDenied(request({ state: 'denied', decidedBy: 'U0ALICE', denyReason: 'use the replica' })),
      requesterMessages.requestTimedOut(request({ state: 'timed-out' })),
      requesterMessages.grantEnded({ ...active, state: 'expired' }),
      requesterMessages.grantEnded({ ...active, state: 'revoked', decidedBy: 'U0ALICE' }),
    ];
    for (const m of ended) {
      const [b, ...more] = buttons(m.blocks);
      assert.equal(more.length, 0);
      assert.equal(b!.action_id, ACTION_REQUEST_AGAIN);
      assert.match(b!.text.text, /^Request again/);
      assert.equal(b!.value, 'rabc123');
      assert.equal(checkMessage({ channel: 'D1', ...m }), undefined, m.text);
    }
  });

  it('opens a form prefilled with the host, duration and reason of the earlier request, which Slack accepts', () => {
    const v = requestAgainModal(request({ durationMs: 5_400_000 })) as unknown as { callback_id: string; private_metadata: string; blocks: any[] };
    assert.equal(checkView(v), undefined);
    assert.equal(v.callback_id, VIEW_REQUEST_AGAIN);
    assert.equal(v.private_metadata, 'rabc123');
    assert.deepEqual(Object.fromEntries(v.blocks.map((b) => [b.block_id, b.element.initial_value])), { host: 'db-prod-1', duration: '1h30m', reason: 'fix replication' });
    // No reason: the field starts empty (Slack refuses an empty initial_value); a very long one is clipped to the field.
    const bare = requestAgainModal(request({ reason: '' })) as unknown as { blocks: any[] };
    assert.equal(checkView(bare), undefined);
    assert.equal(bare.blocks[2].element.initial_value, undefined);
    assert.equal(checkView(requestAgainModal(request({ reason: 'x'.repeat(2000) }))), undefined);
    assert.equal(checkView(requestSentView('Request `r1` for *db-prod-1* for 1h sent to its owners.')), undefined);
  });

  it('shows a refusal under the field it is about, in the words /jump request uses', () => {
    const refused = (code: string, params: object) => ({ kind: 'refused', code, params }) as never;
    assert.equal(fieldOfReply(refused('unknown-host', { host: 'x', known: [] })), 'host');
    assert.equal(fieldOfReply(refused('duration-too-long', { host: 'x', maxMs: 1 })), 'duration');
    assert.equal(fieldOfReply(refused('bad-duration', { text: '5x' })), 'duration');
    assert.equal(fieldOfReply(refused('reason-required', { host: 'x', durationMs: 1 })), 'reason');
    assert.equal(fieldOfReply({ kind: 'too-many-pending', pending: 3, max: 3 }), 'host');
    assert.equal(refusalText({ code: 'not-owner', params: { action: 'request-again' } }), 'Only the person who made this request can request it again.');
  });
});

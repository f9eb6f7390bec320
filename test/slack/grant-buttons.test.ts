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
  requesterMessages,
  requestSentView,
} from '../../src/slack/messages.ts';
import { requestFormFor } from '../../src/domain/requestable-hosts.ts';
import { askedInForm, requestFormModal, VIEW_REQUEST_FORM } from '../../src/slack/request-form.ts';
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

  it('opens the request form prefilled with the host, duration and reason of the earlier request, which Slack accepts', () => {
    const form = (r: ReturnType<typeof request>) => requestFormModal(requestFormFor(samplePolicy(), r.requester, r)) as unknown as { callback_id: string; private_metadata: string; blocks: any[] };
    const v = form(request({ durationMs: 5_400_000 }));
    assert.equal(checkView(v), undefined);
    assert.equal(v.callback_id, VIEW_REQUEST_FORM);
    assert.equal(v.private_metadata, 'rabc123');
    const initial = (b: any) => b.element.initial_option?.value ?? b.element.initial_value;
    assert.deepEqual(Object.fromEntries(v.blocks.map((b) => [b.block_id, initial(b)])), { host: 'db-prod-1', duration: '1h30m', reason: 'fix replication' });
    // The host field is the picker of the hosts the person may request; the earlier duration is among the choices.
    assert.deepEqual(v.blocks[0].element.options.map((o: any) => o.value), ['db-prod-1', 'web-1', 'cache-1']);
    assert.ok(v.blocks[1].element.options.some((o: any) => o.value === '1h30m'));
    // No reason: the field starts empty (Slack refuses an empty initial_value); a very long one is clipped to the field.
    const bare = form(request({ reason: '' }));
    assert.equal(checkView(bare), undefined);
    assert.equal(bare.blocks[2].element.initial_value, undefined);
    assert.equal(checkView(form(request({ reason: 'x'.repeat(2000) }))), undefined);
    assert.equal(checkView(requestSentView('Request `r1` for *db-prod-1* for 1h sent to its owners.')), undefined);
    // What the submission asks is read from the pickers as from typed text (a form opened before the picker).
    const asked = { host: { host: { selected_option: { value: 'web-1' } } }, duration: { duration: { selected_option: { value: '30m' } } }, reason: { reason: { value: ' why ' } } };
    assert.deepEqual(askedInForm(asked), { host: 'web-1', duration: '30m', reason: 'why' });
    assert.deepEqual(askedInForm({ host: { host: { value: 'web-1' } }, duration: { duration: { value: '' } }, reason: { reason: { value: null } } }), { host: 'web-1', duration: undefined, reason: '' });
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

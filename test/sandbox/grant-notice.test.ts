// The sandbox reads the broker's messages to point out the ssh command and its end, by their metadata: the
// broker's own messages (as built for Slack) must be recognised, and nothing else, whatever its wording.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { endedGrants, endedLine, readGrantNotice } from '../../src/sandbox/grant-notice.ts';
import { auditMetadata, EVENT_TYPES, requestMetadata, requestStepMetadata } from '../../src/slack/message-metadata.ts';
import { connectMessage, requesterTexts } from '../../src/slack/messages.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

describe('readGrantNotice', () => {
  it('reads the request, host and expiry from the broker’s own connect message', () => {
    const policy = samplePolicy();
    const c = connectInstructions(policy.hosts[1]!, policy.jumpHosts[0]!);
    const r = request({ id: 'rweb1', host: 'web-1', state: 'active', expiresAt: Date.UTC(2026, 10, 23, 18, 30, 0) });
    const m = { ...connectMessage(r, c), metadata: requestMetadata(EVENT_TYPES.grantActive, r) };
    assert.deepEqual(readGrantNotice(m), { kind: 'granted', requestId: 'rweb1', host: 'web-1', until: '2026-11-23T18:30:00.000Z' });
  });

  it('reads the end of a grant from the requester’s DM, and from the audit line and thread step a self-revocation leaves', () => {
    const expired = request({ id: 'rabc123', host: 'internal-1', state: 'expired' });
    const revoked = request({ id: 'rdef456', host: 'internal-2', state: 'revoked', decidedBy: 'U0ENGINEER' });
    const dm = (r: typeof expired) => ({ text: requesterTexts.grantEnded(r), metadata: requestMetadata(EVENT_TYPES.grantEnded, r) });
    assert.deepEqual(readGrantNotice(dm(expired)), { kind: 'ended', requestId: 'rabc123', host: 'internal-1', state: 'expired' });
    assert.deepEqual(readGrantNotice(dm(revoked)), { kind: 'ended', requestId: 'rdef456', host: 'internal-2', state: 'revoked' });
    const auditLine = { metadata: auditMetadata({ type: 'revoked', at: 1, actor: 'U0ENGINEER', requestId: 'rdef456', host: 'internal-2' }, '1-0') };
    assert.deepEqual(readGrantNotice(auditLine), { kind: 'ended', requestId: 'rdef456', host: 'internal-2', state: 'revoked' });
    const step = { metadata: requestStepMetadata(revoked, { kind: 'revoked' }) };
    assert.equal(readGrantNotice(step)?.kind, 'ended');
    assert.equal(endedLine({ kind: 'ended', requestId: 'rdef456', host: 'internal-2', state: 'revoked' }), 'access to internal-2 (rdef456) was revoked. The same ssh command now fails.');
  });

  it('ignores every other message, and prose without metadata', () => {
    const active = request({ host: 'internal-1', state: 'active', expiresAt: Date.UTC(2026, 0, 1) });
    const denied = request({ host: 'internal-1', state: 'denied', decidedBy: 'U0OWNER1', denyReason: 'no' });
    for (const m of [
      { text: requesterTexts.expiryWarning(active, 30_000), metadata: requestMetadata(EVENT_TYPES.grantWarning, active) },
      { text: requesterTexts.requestDenied(denied), metadata: requestMetadata(EVENT_TYPES.requestClosed, denied) },
      { text: 'Access to internal-1 is active until 2026-01-01T00:00:00.000Z. Connect with: ssh …' },
      { text: 'Your access to internal-1 (rabc123) has expired.' },
      { text: requesterTexts.grantEnded({ ...active, state: 'expired' }), metadata: { event_type: 'other_app_event', event_payload: { host: 'internal-1', request_id: active.id, state: 'expired' } } },
      { metadata: auditMetadata({ type: 'key-removed', at: 1, actor: 'U0ENGINEER' }, '2-0') },
      { text: '' },
    ])
      assert.equal(readGrantNotice(m), undefined, m.text);
  });

  it('endedGrants: the ids of every grant some message says has ended', () => {
    const a = request({ id: 'ra', state: 'active', expiresAt: 1 });
    const b = request({ id: 'rb', state: 'revoked' });
    const messages = [{ metadata: requestMetadata(EVENT_TYPES.grantActive, a) }, { metadata: requestMetadata(EVENT_TYPES.requestDecided, b) }, {}];
    assert.deepEqual([...endedGrants(messages)], ['rb']);
  });
});

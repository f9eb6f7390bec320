// The sandbox reads the broker's DMs to point out the ssh command and its end, by their metadata: the
// broker's own messages (as built for Slack) must be recognised, and nothing else, whatever its wording.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { readGrantNotice } from '../../src/sandbox/grant-notice.ts';
import { EVENT_TYPES, requestMetadata } from '../../src/slack/message-metadata.ts';
import { connectMessage, requesterTexts } from '../../src/slack/messages.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

describe('readGrantNotice', () => {
  it('reads the host and the expiry from the broker’s own connect message', () => {
    const policy = samplePolicy();
    const c = connectInstructions(policy.hosts[1]!, policy.jumpHosts[0]!);
    const r = request({ host: 'web-1', state: 'active', expiresAt: Date.UTC(2026, 10, 23, 18, 30, 0) });
    const m = { ...connectMessage(r, c), metadata: requestMetadata(EVENT_TYPES.grantActive, r) };
    assert.deepEqual(readGrantNotice(m), { kind: 'granted', host: 'web-1', until: '2026-11-23T18:30:00.000Z' });
  });

  it('reads the end of a grant (expired or revoked) as plain text for a terminal', () => {
    const expired = request({ id: 'rabc123', host: 'internal-1', state: 'expired' });
    const revoked = request({ id: 'rabc123', host: 'internal-2', state: 'revoked', decidedBy: 'U0OWNER1' });
    const ended = (r: typeof expired) => ({ text: requesterTexts.grantEnded(r), metadata: requestMetadata(EVENT_TYPES.grantEnded, r) });
    assert.deepEqual(readGrantNotice(ended(expired)), {
      kind: 'ended',
      host: 'internal-1',
      text: 'Your access to internal-1 (rabc123) has expired. Request again with /jump request internal-1.',
    });
    assert.deepEqual(readGrantNotice(ended(revoked)), { kind: 'ended', host: 'internal-2', text: 'Your access to internal-2 (rabc123) was revoked by @U0OWNER1.' });
  });

  it('ignores every other message, and prose without metadata', () => {
    const active = request({ host: 'internal-1', state: 'active', expiresAt: Date.UTC(2026, 0, 1) });
    const denied = request({ host: 'internal-1', state: 'denied', decidedBy: 'U0OWNER1', denyReason: 'no' });
    for (const m of [
      { text: requesterTexts.expiryWarning(active, 30_000), metadata: requestMetadata(EVENT_TYPES.grantWarning, active) },
      { text: requesterTexts.requestDenied(denied), metadata: requestMetadata(EVENT_TYPES.requestClosed, denied) },
      { text: 'Access to internal-1 is active until 2026-01-01T00:00:00.000Z. Connect with: ssh …' },
      { text: requesterTexts.grantEnded({ ...active, state: 'expired' }), metadata: { event_type: 'other_app_event', event_payload: { host: 'internal-1' } } },
      { text: '' },
    ])
      assert.equal(readGrantNotice(m), undefined, m.text);
  });
});

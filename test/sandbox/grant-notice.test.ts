// The sandbox reads the broker's DMs to point out the ssh command and its end: if the broker's wording
// changes, this fails here rather than as a silent sandbox that never shows the command.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { readGrantNotice } from '../../src/sandbox/grant-notice.ts';
import { connectMessage } from '../../src/slack/messages.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

describe('readGrantNotice', () => {
  it('reads the host and the expiry from the broker’s own connect message', () => {
    const policy = samplePolicy();
    const c = connectInstructions(policy.hosts[1]!, policy.jumpHosts[0]!);
    const m = connectMessage(request({ host: 'web-1', state: 'active', expiresAt: Date.UTC(2026, 10, 23, 18, 30, 0) }), c);
    assert.deepEqual(readGrantNotice(m.text), { kind: 'granted', host: 'web-1', until: '2026-11-23T18:30:00.000Z' });
  });

  it('reads the end of a grant (expired or revoked) as plain text for a terminal', () => {
    assert.deepEqual(readGrantNotice('Your access to *internal-1* (`rabc123`) has expired. Request again with `/jump request internal-1`.'), {
      kind: 'ended',
      host: 'internal-1',
      text: 'Your access to internal-1 (rabc123) has expired. Request again with /jump request internal-1.',
    });
    assert.deepEqual(readGrantNotice('Your access to *internal-2* (`rabc123`) was revoked by <@U0OWNER1>.'), {
      kind: 'ended',
      host: 'internal-2',
      text: 'Your access to internal-2 (rabc123) was revoked by @U0OWNER1.',
    });
  });

  it('ignores every other message, including the expiry warning', () => {
    for (const text of [
      'Your access to *internal-1* (`rabc123`) ends in 30s.',
      'Your request `rabc123` for *internal-1* was denied by <@U0OWNER1>: no',
      'Access to the audit log is restricted',
      '',
    ])
      assert.equal(readGrantNotice(text), undefined, text);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditLine } from '../../src/audit/audit-line.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { approvalMessage } from '../../src/slack/messages.ts';

const req: AccessRequest = {
  id: 'rabc123', requester: 'U0ENG', host: 'db-prod-1', jumpHost: 'bastion', durationMs: 7_200_000,
  reason: 'fix <!channel> & <http://evil.example|click here>', state: 'pending', createdAt: 0, requiredApprovals: 1, approvers: [],
};

describe('Slack messages', () => {
  it('escape user text so it cannot ping, link or inject markup', () => {
    const text = JSON.stringify(approvalMessage(req).blocks);
    assert.ok(!text.includes('<!channel>'));
    assert.ok(!text.includes('<http://evil'));
    assert.ok(text.includes('&lt;!channel&gt; &amp; &lt;http://evil.example|click here&gt;'));
    const line = auditLine({ type: 'requested', at: 0, actor: 'U0ENG', requestId: 'rabc123', host: 'db-prod-1', reason: req.reason });
    assert.ok(!line.includes('<!channel>'));
    assert.match(line, /<@U0ENG> requested access `rabc123` on `db-prod-1` reason: “fix &lt;!channel&gt;/);
  });

  it('carry buttons only while pending, and the outcome afterwards', () => {
    const pending = approvalMessage(req);
    const actions = pending.blocks.find((b) => b.type === 'actions') as unknown as { elements: { action_id: string; value: string }[] };
    assert.deepEqual(actions.elements.map((e) => [e.action_id, e.value]), [['jit_approve', 'rabc123'], ['jit_deny', 'rabc123']]);
    const denied = approvalMessage({ ...req, state: 'denied', decidedBy: 'U0BOSS', denyReason: 'use <!here> replica' });
    assert.equal(denied.blocks.find((b) => b.type === 'actions'), undefined);
    assert.match(JSON.stringify(denied.blocks), /Denied by <@U0BOSS>: use &lt;!here&gt; replica/);
    const active = approvalMessage({ ...req, state: 'active', approvers: ['U0BOSS'], expiresAt: Date.UTC(2026, 10, 23) });
    assert.match(active.text, /Approved by <@U0BOSS>\. Active until 2026-11-23T00:00:00\.000Z/);
  });
});

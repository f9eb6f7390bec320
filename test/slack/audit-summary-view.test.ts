// `/jump audit`'s answer in Slack: one line per grant, the totals, its metadata, and Slack's limits however long.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditSummary, GrantRow } from '../../src/domain/audit-summary.ts';
import type { AuditSummaryReply } from '../../src/service/replies.ts';
import { checkMessage } from '../../src/sandbox/slack-checks.ts';
import { auditSummaryMessage } from '../../src/slack/audit-summary-view.ts';
import { AUDIT_HELP, HELP_TEXT, replyMessage, replyText } from '../../src/slack/messages.ts';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const HOUR = 3_600_000;

function reply(summary: Partial<AuditSummary>, o: Partial<AuditSummaryReply> = {}): AuditSummaryReply {
  return {
    kind: 'audit-summary',
    sinceMs: T0 - 7 * 24 * HOUR,
    untilMs: T0,
    summary: { grants: [], breakGlass: { uses: 0, awaitingAcknowledgement: 0 }, refusals: [], denials: 0, ...summary },
    usage: {},
    ...o,
  };
}

const row = (id: string, o: Partial<GrantRow> = {}): GrantRow => ({
  id,
  host: 'db-1',
  requester: 'U0ENG',
  approval: { kind: 'owners', by: ['U0ALICE', 'U0BOB'] },
  activatedAt: T0 - HOUR,
  grantedMs: 2 * HOUR,
  expiresAt: T0 + HOUR,
  ...o,
});

const allText = (m: { blocks: { type: string; [k: string]: any }[] }) => m.blocks.map((b) => b.text?.text ?? b.elements?.map((e: any) => e.text).join(' ') ?? '').join('\n');

describe('/jump audit in Slack', () => {
  it('one line per grant: id, host, requester, who approved, granted and used time, how it ended; then the totals', () => {
    const r = reply(
      {
        grants: [
          row('r1'),
          row('r2', { host: 'web-1', approval: { kind: 'auto', rule: 2 }, grantedMs: HOUR, end: { state: 'expired', at: T0 - 60_000 } }),
          row('r3', { approval: { kind: 'break-glass' }, end: { state: 'revoked', at: T0, by: 'U0ALICE' } }),
          row('r4', { approval: { kind: 'break-glass', acknowledgedBy: 'U0BOB' } }),
        ],
        breakGlass: { uses: 2, awaitingAcknowledgement: 1 },
        refusals: [{ code: 'not-owner', count: 2 }, { code: 'rate-limited', count: 1 }],
        denials: 1,
      },
      { usage: { r1: { connections: 2, usedMs: 14 * 60_000 + 59_000 }, r2: { connections: 0, usedMs: 0 } } },
    );
    const m = auditSummaryMessage(r);
    const text = allText(m);
    assert.match(text, /^\*Audit trail\* of every host since <!date\^\d+\^[^|]+\|2026-11-16T09:00:00.000Z> \(7d\)/);
    assert.match(text, /• `r1` \*db-1\* <@U0ENG>: approved by <@U0ALICE>, <@U0BOB>; granted 2h, used 14m in 2 connections; active until <!date\^/);
    assert.match(text, /• `r2` \*web-1\* <@U0ENG>: auto-approved \(rule 2\); granted 1h, not used; expired <!date\^/);
    assert.match(text, /• `r3` \*db-1\* <@U0ENG>: :rotating_light: break-glass, \*not yet acknowledged\*; granted 2h, used —; revoked by <@U0ALICE> <!date\^/);
    assert.match(text, /• `r4` .*break-glass, acknowledged by <@U0BOB>/);
    assert.match(text, /\*Totals:\* 4 grants · 2 break-glass uses \(1 awaiting acknowledgement\) · 3 refusals \(`not-owner` 2, `rate-limited` 1\) · 1 denial$/);
    assert.equal(checkMessage({ text: m.text, blocks: m.blocks, metadata: m.metadata }), undefined);
    assert.doesNotMatch(m.text, /<!date/, 'the plain text has the dates’ fallbacks');
    assert.match(m.text, /\n• `r1` \*db-1\* <@U0ENG>: approved by <@U0ALICE>, <@U0BOB>; granted 2h, used 14m in 2 connections; active until 2026-11-23T10:00:00.000Z\n/, 'every line in the plain text too (clients without blocks)');
    assert.deepEqual(m.metadata, {
      event_type: 'jit_audit_summary',
      event_payload: {
        request_id: '', host: '', state: 'summary', since: r.sinceMs, until: r.untilMs, grants: 4, grant_ids: 'r1,r2,r3,r4',
        break_glass: 2, break_glass_unacknowledged: 1, refusals: 3, refusal_codes: 'not-owner:2,rate-limited:1', denials: 1,
      },
    });
  });

  it('names what it covers: a host, a person, an owner’s hosts; says when there is nothing; escapes host names', () => {
    const head = (o: Partial<AuditSummaryReply>) => allText(auditSummaryMessage(reply({}, o))).split('\n')[0]!;
    assert.match(head({ host: 'db-1' }), /of `db-1` since/);
    assert.match(head({ person: 'U0ENG', ownHosts: ['db-1', 'web-1'] }), /of <@U0ENG> on your hosts `db-1`, `web-1` since/);
    assert.match(head({ ownHosts: ['db-1'] }), /of your hosts `db-1` since/);
    assert.match(head({ host: '<!channel>' }), /of `&lt;!channel&gt;` since/);
    assert.match(allText(auditSummaryMessage(reply({}))), /No grants in this window\.\n\*Totals:\* 0 grants · 0 break-glass uses · 0 refusals · 0 denials/);
  });

  it('stays within Slack’s limits however many grants, and says how many more and how to get everything', () => {
    const many = Array.from({ length: 400 }, (_, i) => row(`r${String(i).padStart(7, '0')}`, { host: `host-${'x'.repeat(55)}-${i}`, approval: { kind: 'owners', by: ['U0ALICE', 'U0BOB', 'U0CAROL'] } }));
    const m = auditSummaryMessage(reply({ grants: many }));
    assert.equal(checkMessage({ text: m.text, blocks: m.blocks, metadata: m.metadata }), undefined);
    assert.ok(m.blocks.length <= 50);
    for (const b of m.blocks) {
      const text = (b.text as { text?: string } | undefined)?.text ?? '';
      assert.ok(text.length <= 3000, `a section of ${text.length}`);
    }
    const shown = allText(m).split('\n').filter((l) => l.startsWith('• ')).length;
    assert.equal(shown, 25, 'at most 25 grants one by one');
    assert.match(allText(m), new RegExp(`… and ${400 - shown} more\\. Everything, event by event: \`jit-jump audit export --since 2026-11-16T09:00:00.000Z\``));
    assert.match(allText(m), /\*Totals:\* 400 grants/);
    assert.equal(String(m.metadata.event_payload.grant_ids).split(',').length, shown);
  });

  it('is the slash command’s answer: blocks and metadata with the words; other replies stay words only', () => {
    const r = reply({ grants: [row('r1')] });
    const msg = replyMessage(r);
    assert.equal(msg.text, replyText(r));
    assert.ok(msg.blocks?.length && msg.metadata?.event_type === 'jit_audit_summary');
    assert.deepEqual(replyMessage({ kind: 'help' }), { text: HELP_TEXT });
    assert.equal(replyText({ kind: 'help', audit: true }), `${HELP_TEXT}\n${AUDIT_HELP}`);
    assert.equal(checkMessage({ text: replyText({ kind: 'help', audit: true, hosts: ['db-1'] }) }), undefined);
  });
});

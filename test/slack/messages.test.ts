import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AuditEvent, AuditEventType } from '../../src/domain/audit-event.ts';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { checkDecider, evaluateRequest } from '../../src/domain/access-policy.ts';
import { authorize } from '../../src/domain/authorization.ts';
import { parseCommand } from '../../src/domain/command.ts';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { requestFormFor } from '../../src/domain/requestable-hosts.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import type { RefusalDetail, RefusalParams, WordedCode } from '../../src/domain/result.ts';
import {
  ACTION_APPROVE,
  ACTION_DENY,
  approvalMessage,
  auditLine,
  connectMessage,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
  denyReasonModal,
  HELP_TEXT,
  outcomeText,
  PRIVATE_KEY_MESSAGE,
  refusalText,
  replyText,
  requesterTexts,
  VIEW_DENY_REASON,
} from '../../src/slack/messages.ts';
import type { Reply } from '../../src/service/replies.ts';
import { escapeMrkdwn, inlineCode, placeholder, userMention, userTextForOthers } from '../../src/slack/mrkdwn.ts';
import { checkMessage, checkView } from '../../src/sandbox/slack-checks.ts';
import { FC_RUNS, request, samplePolicy } from '../domain/fixtures.ts';

const HOSTILE = 'fix <!channel> & <http://evil.example|click here> <@U0BOSS> <!subteam^S0SEC>';
const HOSTILE_ESCAPED = 'fix &lt;!channel&gt; &amp; &lt;http://evil.example|click here&gt; &lt;@U0BOSS&gt; &lt;!subteam^S0SEC&gt;';
const EXPIRES = Date.UTC(2026, 10, 23, 18, 30, 0);
const req = (o: Partial<AccessRequest> = {}) => request({ reason: HOSTILE, ...o });

type Element = { type: string; action_id?: string; value?: string; style?: string; text?: { text: string } };
type AnyBlock = { type: string; block_id?: string; text?: { type: string; text: string }; fields?: { text: string }[]; elements?: Element[] };
const blocksOf = (m: { blocks: unknown[] }) => m.blocks as AnyBlock[];
/** Every mrkdwn/plain text inside the blocks. */
function texts(blocks: AnyBlock[]): string[] {
  return blocks.flatMap((b) => [b.text?.text, ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => (e as { text?: unknown }).text)]).filter((t): t is string => typeof t === 'string');
}
/** No Slack control sequence other than user mentions of real ids and date tokens. */
function assertNoInjectedMarkup(s: string): void {
  for (const m of s.matchAll(/<([^>]*)>/g)) assert.match(m[1]!, /^(@[UW][A-Z0-9]+|!date\^\d+\^[^|]+\|[^>]+)$/, `unexpected <${m[1]}> in ${s}`);
}

describe('mrkdwn helpers', () => {
  it('escapeMrkdwn escapes exactly &, < and > (ampersand first, so nothing is escaped twice)', () => {
    assert.equal(escapeMrkdwn(HOSTILE), HOSTILE_ESCAPED);
    assert.equal(escapeMrkdwn('a && b'), 'a &amp;&amp; b');
    assert.equal(escapeMrkdwn('&lt;'), '&amp;lt;');
    assert.equal(escapeMrkdwn('*bold* _it_ `code` "q"'), '*bold* _it_ `code` "q"');
  });

  it('escapeMrkdwn leaves no raw < or > and no bare & (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const e = escapeMrkdwn(s);
        assert.ok(!/[<>]/.test(e));
        assert.ok(!/&(?!amp;|lt;|gt;)/.test(e));
        assert.equal(e.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'), s, 'reversible');
      }),
      { numRuns: FC_RUNS },
    );
  });

  it('userMention mentions only well-formed user ids and escapes anything else', () => {
    assert.equal(userMention('U0ALICE'), '<@U0ALICE>');
    assert.equal(userMention('W0ENTERPRISE'), '<@W0ENTERPRISE>');
    assert.equal(userMention('<!channel>'), '&lt;!channel&gt;');
    assert.equal(userMention('U0A> <!here'), 'U0A&gt; &lt;!here');
    assert.equal(userMention('S0GROUP'), 'S0GROUP');
    assert.equal(userMention('u0lower'), 'u0lower');
    assert.equal(userMention(''), '');
  });

  it('inlineCode wraps in backticks and cannot be closed early', () => {
    assert.equal(inlineCode('db-prod-1'), '`db-prod-1`');
    const c = inlineCode('a`b``c');
    assert.equal(c.match(/`/g)!.length, 2);
    assert.ok(c.startsWith('`a') && c.endsWith('c`'));
  });
});

describe('auditLine', () => {
  const base: AuditEvent = { type: 'requested', at: Date.UTC(2026, 10, 23, 16, 0, 0), actor: 'U0ENG', requestId: 'rabc123', host: 'db-prod-1' };

  it('writes one line: time, type, who, what, which request, host, duration, reason', () => {
    assert.equal(
      auditLine({ ...base, durationMs: 5_400_000, reason: 'fix replication' }),
      '<!date^1795449600^{date_short_pretty} at {time}|2026-11-23T16:00:00.000Z> *requested* <@U0ENG> requested access `rabc123` on `db-prod-1` for 1h30m reason: “fix replication”',
    );
    assert.equal(
      auditLine({ ...base, type: 'approved', actor: 'U0BOSS', requester: 'U0ENG', expiresAt: Date.UTC(2026, 10, 23, 18, 0, 0) }),
      '<!date^1795449600^{date_short_pretty} at {time}|2026-11-23T16:00:00.000Z> *approved* <@U0BOSS> approved `rabc123` for <@U0ENG> on `db-prod-1` until <!date^1795456800^{date_short_pretty} at {time}|2026-11-23T18:00:00.000Z>',
    );
    assert.equal(auditLine({ type: 'expired', at: 0, requestId: 'rabc123' }), '<!date^0^{date_short_pretty} at {time}|1970-01-01T00:00:00.000Z> *expired* access expired `rabc123`');
  });

  it('does not repeat the requester when they are the actor', () => {
    assert.ok(!auditLine({ ...base, requester: 'U0ENG' }).includes('for <@U0ENG>'));
  });

  it('has a verb for every event type', () => {
    const types: AuditEventType[] = ['requested', 'approval-recorded', 'approved', 'activated', 'denied', 'expired', 'revoked', 'cancelled', 'timed-out', 'failed', 'key-added', 'key-replaced', 'refused', 'jump-host-alert', 'connection', 'session-ended', 'policy-reloaded'];
    const verbs = new Set<string>();
    for (const type of types) {
      const line = auditLine({ type, at: 0 });
      const m = new RegExp(`^<!date\\^0\\^\\{date_short_pretty\\} at \\{time\\}\\|1970-01-01T00:00:00\\.000Z> \\*${type}\\* (.+)$`).exec(line);
      assert.ok(m && !m[1]!.includes('undefined'), line);
      verbs.add(m[1]!);
    }
    assert.equal(verbs.size, types.length);
  });

  it('escapes user text: it cannot ping, link or mention from the audit channel', () => {
    const line = auditLine({ ...base, reason: HOSTILE, detail: 'deny reason: <!here>', actor: '<!everyone>', requester: 'U0ENG' });
    assertNoInjectedMarkup(line);
    assert.ok(line.includes(`reason: “${HOSTILE_ESCAPED}”`), line);
    assert.ok(line.includes('(deny reason: &lt;!here&gt;)'), line);
    assert.ok(line.includes('&lt;!everyone&gt; requested access'), line);
  });

  it('keeps an event on one line even when the reason has line breaks', () => {
    const forged = 'fix\n`2026-11-23T16:00:01.000Z` *approved* U0BOSS approved `rabc123`\r\nthanks';
    const line = auditLine({ ...base, reason: forged, detail: 'a\nb' });
    assert.ok(!/[\r\n\u2028\u2029]/.test(line), line);
    assert.ok(line.includes('reason: “fix `2026-11-23T16:00:01.000Z` *approved* U0BOSS approved `rabc123` thanks”'), line);
    assert.ok(line.endsWith('(a b)'));
  });

  it('never lets generated user text inject markup or break the line (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 20 }), (reason, detail, actor) => {
        const line = auditLine({ ...base, reason, detail, actor });
        assert.ok(!/[\n\r]/.test(line));
        assertNoInjectedMarkup(line);
      }),
      { numRuns: FC_RUNS },
    );
  });
});

describe('grant usage in messages', () => {
  const ended = (extra: Partial<AccessRequest>): AccessRequest =>
    ({ ...request({ state: 'expired', approvers: ['U0ALICE'], expiresAt: 0, endedAt: 0 }), ...extra }) as AccessRequest;

  it('the end message, the approval message and /jump list say how the grant was used, escaped', () => {
    const r = ended({ usage: 'used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22' });
    assert.ok(requesterTexts.grantEnded(r).endsWith(' Used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22.'), requesterTexts.grantEnded(r));
    assert.ok(outcomeText(r).endsWith(' Used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22.'), outcomeText(r));
    assert.ok(outcomeText(ended({ state: 'revoked', decidedBy: 'U0ALICE', usage: 'not used' })).endsWith(' Not used.'));
    assert.ok(!outcomeText(ended({})).includes('used'), 'nothing where usage is not known');
    const listed = replyText({ kind: 'list', open: [{ ...r, state: 'active', expiresAt: 0, usage: 'used 1 min in 1 connection from <x> to 10.0.0.5:22' }] });
    assert.match(listed, /active until <!date\^0\^\{date_short_pretty\} at \{time\}\|1970-01-01T00:00:00\.000Z>, used 1 min in 1 connection from &lt;x&gt; to 10\.0\.0\.5:22 so far$/);
  });

  it('owners’ lists: what awaits their decision and, with all, everything on their hosts; reasons escaped', () => {
    const waiting = request({ id: 'rabc123', host: 'db-1', requester: 'U0ENG', durationMs: 3_600_000, createdAt: 0, approvers: [], requiredApprovals: 2, reason: 'fix <!channel> now' });
    const text = replyText({ kind: 'list', open: [], awaiting: [waiting], ownsHosts: true });
    assert.equal(text, 'You have no pending requests or active grants.\n\n*Waiting for your decision:*\n• `rabc123` *db-1* for <@U0ENG>, 1h, waiting for approval (0 of 2) since <!date^0^{date_short_pretty} at {time}|1970-01-01T00:00:00.000Z>: “fix &lt;!channel&gt; now”');
    assert.match(replyText({ kind: 'list', open: [], awaiting: [], onTheirHosts: [], ownsHosts: true }), /Nothing is pending or active on your hosts\.$/);
    assert.match(replyText({ kind: 'list', open: [], ownsHosts: false }), /`\/jump list all` shows the owners of a host everything pending and active on it\.$/);
  });
});

describe('approvalMessage', () => {
  const actionsOf = (m: { blocks: unknown[] }) => blocksOf(m).filter((b) => b.type === 'actions');

  it('while pending: Approve and Deny buttons whose value is the request id only', () => {
    const m = approvalMessage(req({ id: 'rxyz789' }));
    const actions = actionsOf(m);
    assert.equal(actions.length, 1);
    assert.equal(actions[0]!.block_id, 'decision:rxyz789');
    assert.deepEqual(
      // (the menu next to Approve, for a shorter approval: test/slack/approve-for.test.ts)
      actions[0]!.elements!.filter((e) => e.type === 'button').map((e) => [e.action_id, e.value, e.text?.text, e.style]),
      [
        [ACTION_APPROVE, 'rxyz789', 'Approve', 'primary'],
        [ACTION_DENY, 'rxyz789', 'Deny', 'danger'],
      ],
    );
    assert.ok(!blocksOf(m).some((b) => b.block_id === 'outcome'), 'no outcome yet');
    assert.match(m.text, /^<@U0ENG> requests access to db-prod-1 for 2h: :hourglass: Waiting for approval\.$/);
  });

  it('shows requester, host, duration, reason, approvals and the jump server', () => {
    const m = approvalMessage(req({ reason: 'fix replication', requiredApprovals: 2 }));
    const all = texts(blocksOf(m)).join('\n');
    assert.match(all, /<@U0ENG> requests SSH access to \*db-prod-1\*/);
    assert.match(all, /\*Host\*\ndb-prod-1/);
    assert.match(all, /\*Duration\*\n2h/);
    assert.match(all, /\*Reason\*\nfix replication/);
    assert.match(all, /\*Approvals\*\n0 of 2/);
    assert.match(all, /Request `rabc123` · jump server bastion/);
    assert.match(texts(blocksOf(approvalMessage(req({ reason: '' })))).join('\n'), /\*Reason\*\n_none given_/);
  });

  it('shows the fingerprint of the key that will be installed, as ssh-keygen -l prints it', () => {
    const fp = 'SHA256:gGCC3DhjaW6yn5aiS9W/Sl1qz5g8T+lJPvPgiVMR0y0';
    assert.match(texts(blocksOf(approvalMessage(req({ keyFingerprint: fp })))).join('\n'), new RegExp(`\\*Key\\*\n\`${fp.replace(/[+/]/g, '\\$&')}\``));
    assert.doesNotMatch(texts(blocksOf(approvalMessage(req()))).join('\n'), /\*Key\*/, 'a request from before keys were bound shows none');
  });

  it('says when a key change ended the grant or cancelled the request', () => {
    const ended = { decidedBy: 'U0ENG', endedAt: Date.UTC(2026, 0, 1), endReason: 'key-changed' } as const;
    assert.match(outcomeText(req({ state: 'revoked', ...ended })), /^:lock: Ended .*: the requester’s key changed; access is granted for the approved key only\.$/);
    assert.match(outcomeText(req({ state: 'cancelled', ...ended })), /^:heavy_minus_sign: Cancelled: the requester’s key changed after the request\.$/);
    assert.match(outcomeText(req({ state: 'failed', ...ended })), /^:warning: Approved, but not installed: the requester’s key changed after the request\.$/);
  });

  it('escapes the reason in the blocks and keeps it out of the notification text', () => {
    const m = approvalMessage(req());
    const json = JSON.stringify(m.blocks);
    for (const raw of ['<!channel>', '<http://evil', '<@U0BOSS>', '<!subteam']) assert.ok(!json.includes(raw), raw);
    assert.ok(json.includes(HOSTILE_ESCAPED));
    for (const t of texts(blocksOf(m))) assertNoInjectedMarkup(t);
    assertNoInjectedMarkup(m.text);
    assert.ok(!m.text.includes('evil'));
  });

  it('after a partial approval: still buttons, plus who approved and how many are missing', () => {
    const m = approvalMessage(req({ requiredApprovals: 2, approvers: ['U0BOB'] }));
    assert.equal(actionsOf(m).length, 1);
    const context = blocksOf(m).filter((b) => b.type === 'context').flatMap((b) => b.elements!.map((e) => (e as unknown as { text: string }).text));
    assert.ok(context.includes(':hourglass: Approved by <@U0BOB>; 1 more approval(s) needed.'), context.join('\n'));
    assert.match(texts(blocksOf(m)).join('\n'), /\*Approvals\*\n1 of 2/);
  });

  const decided: [string, Partial<AccessRequest>, RegExp][] = [
    ['active', { state: 'active', approvers: ['U0BOB', 'U0CAROL'], expiresAt: EXPIRES }, /^:white_check_mark: Approved by <@U0BOB>, <@U0CAROL>\. Active until <!date\^1795458600\^\{date_short_pretty\} at \{time\}\|2026-11-23T18:30:00\.000Z>\.$/],
    ['active, expiry not known', { state: 'active', approvers: ['U0BOB'] }, /^:white_check_mark: Approved by <@U0BOB>\. Installing the key…$/],
    ['expired', { state: 'expired', approvers: ['U0BOB'], expiresAt: EXPIRES }, /^:white_check_mark: Approved by <@U0BOB>\. :lock: Expired <!date\^1795458600\^.*\|2026-11-23T18:30:00\.000Z>\.$/],
    ['revoked', { state: 'revoked', approvers: ['U0BOB'], decidedBy: 'U0ENG', endedAt: EXPIRES }, /^:lock: Revoked by <@U0ENG> <!date\^1795458600\^.*>\.$/],
    ['denied with a reason', { state: 'denied', decidedBy: 'U0BOSS', denyReason: 'use <!here> the replica & wait' }, /^:x: Denied by <@U0BOSS>: use &lt;!here&gt; the replica &amp; wait$/],
    ['denied without a reason', { state: 'denied', decidedBy: 'U0BOSS' }, /^:x: Denied by <@U0BOSS>\.$/],
    ['cancelled', { state: 'cancelled', decidedBy: 'U0ENG' }, /^:heavy_minus_sign: Cancelled by the requester\.$/],
    ['cancelled by an owner', { state: 'cancelled', decidedBy: 'U0BOSS' }, /^:heavy_minus_sign: Cancelled by <@U0BOSS> \(an owner\)\.$/],
    ['timed out', { state: 'timed-out' }, /^:heavy_minus_sign: Timed out without a decision\.$/],
    ['failed', { state: 'failed', approvers: ['U0BOB'] }, /^:warning: Approved, but installing the key on the jump server failed\.$/],
  ];
  for (const [what, o, outcome] of decided)
    it(`once ${what}: no buttons, an outcome section saying who decided`, () => {
      const m = approvalMessage(req(o));
      assert.equal(actionsOf(m).length, 0);
      const section = blocksOf(m).find((b) => b.block_id === 'outcome');
      assert.ok(section, 'outcome section');
      assert.equal(section.type, 'section');
      assert.match(section.text!.text, outcome);
      assert.equal(section.text!.text, outcomeText(req(o)));
      // the notification text carries the outcome with plain dates instead of date tokens
      assert.ok(!m.text.includes('<!date'), m.text);
      assert.ok(m.text.startsWith('<@U0ENG> requests access to db-prod-1 for 2h: '), m.text);
      assertNoInjectedMarkup(m.text);
    });

  it('never shows a 1970 date for a request that has no expiry yet', () => {
    assert.ok(!approvalMessage(req({ state: 'active', approvers: ['U0BOB'] })).text.includes('1970'));
  });

  it('stays within Slack’s field limit for the longest reason, all of it escaped', () => {
    const m = approvalMessage(req({ reason: '&'.repeat(500) }));
    const reasonField = blocksOf(m)[1]!.fields![2]!.text;
    assert.ok(reasonField.length <= 2000, String(reasonField.length));
    assert.ok(reasonField.endsWith('…'));
    assert.ok(!/[<>]/.test(reasonField));
  });

  const reasonFieldOf = (reason: string) => blocksOf(approvalMessage(req({ reason })))[1]!.fields![2] as { type: string; text: string; verbatim?: boolean };

  it('clips the reason by code points before escaping: an emoji at the cut is kept whole or left out, never halved', () => {
    // "*Reason*\n" + 397 × "&amp;" + "abcd" puts the emoji exactly at the old cut (UTF-16 unit 1998).
    for (const reason of [`${'&'.repeat(397)}abcd😀zz`, '😀'.repeat(1000), `x${'😀'.repeat(1000)}`, `${'<'.repeat(497)}x🔑🔑🔑`]) {
      const field = reasonFieldOf(reason).text;
      assert.doesNotMatch(field, /\p{Cs}/u, 'no half surrogate pair');
      assert.ok(field.length <= 2000, String(field.length));
      assert.ok(field.endsWith('…'), field.slice(-10));
      assert.equal(checkMessage({ text: 'x', blocks: approvalMessage(req({ reason })).blocks }), undefined);
    }
    assert.ok(reasonFieldOf('😀'.repeat(1000)).text.endsWith('😀…'));
  });

  it('clips the reason between characters as typed: the cut never lands inside an escape', () => {
    // Each offset moves the old cut (after escaping) one unit further into an escape.
    for (let offset = 0; offset < 5; offset++) {
      const field = reasonFieldOf(`${'x'.repeat(offset)}${'&'.repeat(500)}`).text;
      assert.match(field, /^\*Reason\*\nx*(&amp;)+…$/, `offset ${offset}: …${field.slice(-12)}`);
      assert.ok(field.length <= 2000);
    }
  });

  it('shows the reason on one line, verbatim: a requester cannot draw an "Approvals" row or reverse the text', () => {
    const forged = 'fix it\n\n*Approvals*\n2 of 1 :white_check_mark: approved by <@U0BOSS>\r\n\u2028\u202eevil\ttabs   and  spaces\u0000';
    const field = reasonFieldOf(forged);
    assert.equal(field.text, '*Reason*\nfix it *Approvals* 2 of 1 :white_check_mark: approved by &lt;@U0BOSS&gt; evil tabs and spaces');
    assert.equal(field.verbatim, true, 'Slack makes no links or mentions of it');
    assert.equal(field.text.split('\n').length, 2, 'one line after the label');
  });

  it('shows a deny reason on one line, verbatim, in the outcome and in the requester’s DM', () => {
    const denied = req({ state: 'denied', decidedBy: 'U0BOSS', denyReason: 'no\n*Approvals*\n1 of 1\u202e <!here>' });
    const outcome = blocksOf(approvalMessage(denied)).find((b) => b.block_id === 'outcome')!.text as { text: string; verbatim?: boolean };
    assert.equal(outcome.text, ':x: Denied by <@U0BOSS>: no *Approvals* 1 of 1 &lt;!here&gt;');
    assert.equal(outcome.verbatim, true);
    assert.match(requesterTexts.requestDenied(denied), /denied by <@U0BOSS>: no \*Approvals\* 1 of 1 &lt;!here&gt;$/);
    const long = outcomeText({ ...denied, denyReason: '🔑'.repeat(2000) });
    assert.doesNotMatch(long, /\p{Cs}/u);
    assert.ok(long.length <= 3000);
  });

  it('keeps every reason Slack-valid, on one line and within its field (property)', () => {
    const piece = fc.constantFrom('a', ' ', '&', '<', '>', '😀', '\n', '\r\n', '\t', '\u202e', '\u2028', '\ud83d', 'é', '*');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 1200 }), (pieces) => {
        const m = approvalMessage(req({ reason: pieces.join('') }));
        const field = blocksOf(m)[1]!.fields![2]!.text;
        assert.equal(checkMessage({ text: m.text, blocks: m.blocks }), undefined);
        assert.doesNotMatch(field, /\p{Cs}/u);
        assert.equal(field.split('\n').length, 2);
        assert.doesNotMatch(field, /&(?!amp;|lt;|gt;)/);
      }),
      { numRuns: FC_RUNS },
    );
  });
});

describe('userTextForOthers', () => {
  it('fits Slack’s limit once escaped, cutting between characters as typed', () => {
    assert.equal(userTextForOthers('a&b', 7), 'a&amp;b');
    assert.equal(userTextForOthers('a&b', 6), 'a…', 'the escape does not fit with the ellipsis: left out whole');
    assert.equal(userTextForOthers('ab😀c', 4), 'ab…');
    assert.equal(userTextForOthers('  two\n lines \t ', 100), 'two lines');
  });
});

describe('connectMessage', () => {
  it('shows the command and the ssh config block exactly as computed, and the expiry', () => {
    const policy = samplePolicy();
    const c = connectInstructions(policy.hosts[0]!, policy.jumpHosts[0]!);
    const m = connectMessage(req({ state: 'active', expiresAt: EXPIRES, approvers: ['U0BOB'] }), c);
    assert.equal(m.text, 'Access to db-prod-1 is active until 2026-11-23T18:30:00.000Z. Connect with: ssh -J jump@bastion.example.com postgres@10.0.0.5');
    const all = texts(blocksOf(m)).join('\n');
    assert.ok(all.includes('```ssh -J jump@bastion.example.com postgres@10.0.0.5```'), all);
    assert.ok(all.includes(`\`\`\`${c.sshConfig}\`\`\``), all);
    assert.ok(all.includes('run `ssh db-prod-1`'), all);
    assert.match(all, /active until <!date\^1795458600\^/);
    assert.match(all, /\(request `rabc123`\), approved by <@U0BOB>\./, 'names who let the person in');
    assert.ok(!all.includes(HOSTILE) && !all.includes('evil'), 'the reason is not repeated');
  });
});

describe('denyReasonModal', () => {
  it('carries the request id as private metadata and asks for a bounded reason', () => {
    const v = denyReasonModal('rabc123', 'db-prod-1') as unknown as {
      type: string;
      callback_id: string;
      private_metadata: string;
      blocks: { type: string; block_id?: string; text?: { text: string }; element?: { action_id: string; max_length: number; multiline: boolean } }[];
    };
    assert.equal(v.type, 'modal');
    assert.equal(v.callback_id, VIEW_DENY_REASON);
    assert.equal(v.private_metadata, 'rabc123');
    const input = v.blocks.find((b) => b.type === 'input')!;
    assert.equal(input.block_id, DENY_REASON_BLOCK);
    assert.equal(input.element!.action_id, DENY_REASON_INPUT);
    assert.equal(input.element!.max_length, 500);
    assert.equal(v.blocks[0]!.text!.text, 'Deny request `rabc123` for *db-prod-1*?');
    assert.match((denyReasonModal('r1', '<!channel>') as unknown as { blocks: { text?: { text: string } }[] }).blocks[0]!.text!.text, /\*&lt;!channel&gt;\*/);
  });
});

describe('replyText and requester DMs', () => {
  it('help documents every verb the parser understands', () => {
    for (const verb of ['/jump key add', '/jump key`', '/jump key remove', '/jump request', '/jump list', '/jump revoke', '/jump help']) assert.ok(HELP_TEXT.includes(verb), verb);
    for (const verb of ['key add x', 'key', 'key remove', 'request h', 'list', 'revoke r1', 'help']) assert.notEqual(parseCommand(verb).kind, 'invalid', verb);
    assert.equal(replyText({ kind: 'help' }), HELP_TEXT);
    // A grant is bound to the approved key: the help says what a key change costs before anyone makes one.
    assert.match(HELP_TEXT, /key add[^\n]*replacing it ends your active grants and pending requests/);
    assert.match(HELP_TEXT, /key remove[^\n]*ends your active grants and pending requests/);
    // `/jump request` alone is the request form, and the help says so (and where the Home tab is).
    assert.match(HELP_TEXT, /^`\/jump request`: [^\n]*form[^\n]*Home tab/m);
    assert.equal(parseCommand('request').kind, 'request-form');
  });

  it('help writes its placeholders escaped: Slack reads a raw angle-bracket word as a control sequence and shows nothing', () => {
    assert.doesNotMatch(HELP_TEXT, /</);
    for (const word of ['ssh public key', 'host', 'id']) assert.ok(HELP_TEXT.includes(placeholder(word)), word);
    assert.equal(placeholder('host'), '&lt;host&gt;');
    assert.equal(checkMessage({ response_type: 'ephemeral', text: HELP_TEXT }), undefined);
  });

  it('words every coded reply from its data', () => {
    const key = { line: 'ssh-ed25519 AAAA', type: 'ssh-ed25519', bits: 256, fingerprint: 'SHA256:abc', addedAt: Date.UTC(2026, 0, 1) };
    const cases: [Reply, string | RegExp][] = [
      [{ kind: 'request-gone' }, 'That request no longer exists.'],
      [{ kind: 'already', state: 'timed-out' }, 'This request is already timed out.'],
      [{ kind: 'approval-recorded', approvals: 1, required: 2 }, 'Approval recorded (1 of 2).'],
      [{ kind: 'request-sent', id: 'rabc123', host: 'db-1', durationMs: 1_800_000, requiredApprovals: 2 }, 'Request `rabc123` for *db-1* for 30m sent to its owners (2 approvals needed). You will get a DM when it is decided.'],
      [{ kind: 'request-sent', id: 'rabc123', host: 'db-1', durationMs: 1_800_000, requiredApprovals: 1 }, /sent to its owners\. You will/],
      [{ kind: 'rate-limited', what: 'key-change', limit: 3, windowMs: 3_600_000, retryAfterMs: 1500 }, 'Too many key changes: at most 3 per 1h. Try again in 2s.'],
      [{ kind: 'too-many-pending', pending: 3, max: 3 }, /You already have 3 request\(s\) waiting for approval \(at most 3\)/],
      [{ kind: 'key', key }, 'Your registered key: ssh-ed25519 `SHA256:abc` (added <!date^1767225600^{date_short_pretty} at {time}|2026-01-01T00:00:00.000Z>).'],
      [{ kind: 'key-saved', type: 'ssh-ed25519', fingerprint: 'SHA256:abc', replaced: true, endedGrants: 0, cancelledRequests: 0 }, 'Key replaced: ssh-ed25519 `SHA256:abc`.'],
      [
        { kind: 'key-saved', type: 'ssh-ed25519', fingerprint: 'SHA256:abc', replaced: true, endedGrants: 2, cancelledRequests: 1 },
        'Key replaced: ssh-ed25519 `SHA256:abc`. Your 2 active grant(s) ended and your 1 pending request(s) were cancelled: access is granted for the key that was approved only. Request again with the new key.',
      ],
      [
        { kind: 'key-removed', fingerprint: 'SHA256:abc', endedGrants: 2, cancelledRequests: 0 },
        'Key `SHA256:abc` removed. Your 2 active grant(s) ended: access is granted for the key that was approved only. Request again with the new key.',
      ],
      [{ kind: 'key-removed', fingerprint: 'SHA256:abc', endedGrants: 0, cancelledRequests: 0 }, 'Key `SHA256:abc` removed.'],
      [{ kind: 'not-an-id', text: '<!channel>' }, /^"&lt;!channel&gt;" is not a request id/],
      [{ kind: 'nothing-to-revoke', id: 'rabc123', state: 'expired' }, 'Request `rabc123` is expired; nothing to revoke.'],
      [{ kind: 'refused', code: 'unknown-host', params: { host: 'x', known: ['db-1'] } }, 'Unknown host "x". Hosts you can request: `db-1`.'],
      [{ kind: 'self-approval' }, 'You cannot approve your own request.'],
      [{ kind: 'list', open: [] }, 'You have no pending requests or active grants.'],
      [{ kind: 'list', open: [request({ id: 'rabc123', host: 'db-1', durationMs: 1_800_000, approvers: ['U1'], requiredApprovals: 2 })] }, '• `rabc123` *db-1* 30m waiting for approval (1 of 2)'],
    ];
    for (const [reply, expected] of cases) {
      if (typeof expected === 'string') assert.equal(replyText(reply), expected);
      else assert.match(replyText(reply), expected);
    }
  });

  it('tells the requester who ended or denied, escaping the reason', () => {
    const r = request({ id: 'rabc123', host: 'db-1' });
    assert.equal(requesterTexts.requestDenied({ ...r, state: 'denied', decidedBy: 'U0OWN', denyReason: 'no <!here>' }), 'Your request `rabc123` for *db-1* was denied by <@U0OWN>: no &lt;!here&gt;');
    assert.equal(requesterTexts.grantEnded({ ...r, state: 'revoked', decidedBy: 'U0OWN' }), 'Your access to *db-1* (`rabc123`) was revoked by <@U0OWN>.');
    assert.match(requesterTexts.grantEnded({ ...r, state: 'expired' }), /has expired\. Request again with `\/jump request db-1`/);
    // Ended by its jump server's retirement: nobody's hand, so the reason instead of a mention.
    const retired = { ...r, state: 'revoked' as const, endReason: 'jump-host-retired' as const, endedAt: 1_800_000_000_000 };
    assert.equal(requesterTexts.grantEnded(retired), 'Your access to *db-1* (`rabc123`) has ended: jump server retired (bastion). Ask the owners of db-1 how it is reached now.');
    assert.match(outcomeText(retired), /^:lock: Ended <!date\^1800000000\^.*>: jump server bastion retired\.$/);
    assert.match(requesterTexts.grantNotActivated({ ...r, state: 'failed' }), /installing your key on the jump server failed/);
    assert.match(requesterTexts.grantNotActivated({ ...r, state: 'revoked' }), /already revoked: no connect instructions/);
    assert.equal(
      requesterTexts.grantEnded({ ...r, state: 'revoked', decidedBy: 'U0ENG', endReason: 'key-changed' }),
      'Your access to *db-1* (`rabc123`) ended because your key changed: a grant is for the key that was approved only. Request again with `/jump request db-1`.',
    );
    assert.match(requesterTexts.grantNotActivated({ ...r, state: 'failed', endReason: 'key-changed' }), /was approved, but your key changed after the request: it was not installed\. Request again/);
    assert.equal(requesterTexts.expiryWarning(r, 600_000), 'Your access to *db-1* (`rabc123`) ends in 10m.');
    assert.equal(requesterTexts.requestCancelled({ ...r, state: 'cancelled', decidedBy: 'U0OWN' }), 'Your request `rabc123` for *db-1* was cancelled by <@U0OWN>, an owner of the host.');
    const overMax = { ...r, durationMs: 28_800_000, state: 'denied' as const, decidedBy: 'U0ALICE', policyMaxMs: 7_200_000 };
    assert.equal(
      requesterTexts.requestDenied(overMax),
      'Your request `rabc123` for *db-1* could not be approved: it asks for 8h, but db-1 now allows at most 2h. Request again: `/jump request db-1 2h …`',
    );
    assert.match(outcomeText(overMax), /^:x: Not approved: it asks for 8h, but db-1 now allows at most 2h\. The requester was asked to request again\.$/);
  });
});

describe('refusalText: the words of every domain refusal', () => {
  // One sample per code: a code added to RefusalParams without a sample here (or without words) does not compile.
  const SAMPLES: { [C in WordedCode]: RefusalParams[C] } = {
    'unknown-host': { host: 'nope', known: ['db-1', 'web-1'] },
    'jump-host-retired': { host: 'db-1', jumpHost: 'bastion-old' },
    'bad-duration': { text: '2x' },
    'duration-too-long': { host: 'db-1', maxMs: 7_200_000 },
    'duration-too-short': { host: 'db-1', minMs: 300_000 },
    'reason-required': { host: 'db-1', durationMs: 3_600_000 },
    'reason-too-long': { length: 501, max: 500 },
    'reason-mismatch': { host: 'db-1', pattern: '^(INC|CHG)-[0-9]+', hint: 'start with a ticket id such as INC-1234' },
    'not-a-requester': { host: 'db-1', owners: ['U0ALICE', 'S0DBA'] },
    'requesters-unavailable': { host: 'db-1' },
    'not-break-glass': { host: 'db-1', owners: ['U0ALICE'] },
    'break-glass-too-long': { host: 'db-1', maxMs: 3_600_000 },
    'no-key': {},
    'already-approved': { remaining: 1 },
    'approval-too-late': { host: 'db-1', timeoutMs: 86_400_000 },
    'approval-over-max-duration': { host: 'db-1', durationMs: 28_800_000, maxMs: 7_200_000 },
    'approve-bad-duration': { text: '2x' },
    'approve-longer-than-asked': { askedMs: 7_200_000, chosenMs: 14_400_000 },
    'approve-under-min': { minMs: 900_000, chosenMs: 300_000 },
    'approve-shorter-extension': { askedMs: 3_600_000 },
    'grant-not-active': { id: 'r1grant', state: 'expired' },
    'extension-too-long': { id: 'r1grant', host: 'db-1', maxMs: 7_200_000 },
    'extension-too-short': { id: 'r1grant', minMs: 60_000 },
    'extension-over-total': { host: 'db-1', maxTotalMs: 21_600_000, leftMs: 1_800_000 },
    'extension-reason-required': { id: 'r1grant', durationMs: 3_600_000 },
    'extension-waiting': { id: 'r1grant', extensionId: 'r1ext' },
    'extension-grant-ended': { id: 'r1grant' },
    'self-approval': {},
    'not-owner': { action: 'approve', host: 'db-1' },
    'not-allowed': {},
    'owners-unavailable': { host: 'db-1' },
    'private-key-pasted': {},
    'key-too-long': {},
    'key-missing': {},
    'key-not-one-line': {},
    'key-control-characters': {},
    'key-dsa': {},
    'key-certificate': {},
    'key-security-key': {},
    'key-no-type': {},
    'key-bad-base64': {},
    'key-unparsable': {},
    'key-not-round-trip': {},
    'key-type-mismatch': { type: 'ssh-rsa' },
    'key-rsa-too-small': { minBits: 3072, bits: 2048 },
    'key-is-broker-key': { jumpHost: 'bastion' },
    'key-stands-outside-block': { jumpHost: 'bastion' },
    'command-too-long': { max: 4000 },
    'request-needs-host': {},
    'key-add-needs-key': {},
    'unknown-key-command': { text: 'rotate' },
    'revoke-needs-id': {},
    'extend-needs-id-and-duration': {},
    'break-glass-needs-host': {},
    'not-auditor': { host: 'db-1' },
    'auditors-unavailable': {},
    'audit-bad-since': { text: 'yesterday' },
    'audit-since-future': { at: Date.UTC(2030, 0, 1) },
    'audit-bad-person': { text: '@erin' },
    'audit-bad-arguments': { text: 'extra words' },
    'unknown-command': { text: 'frobnicate' },
  };
  const detail = <C extends WordedCode>(code: C, params: RefusalParams[C]) => ({ code, params }) as RefusalDetail;
  const wordsOf = (r: { ok: true } | (RefusalDetail & { ok: false })) => {
    assert.equal(r.ok, false);
    return refusalText(r as RefusalDetail);
  };

  it('words every code: a whole sentence with every value filled in, a different one per code', () => {
    const texts = Object.entries(SAMPLES).map(([code, params]) => {
      const t = refusalText(detail(code as WordedCode, params as never));
      assert.ok(t.length > 10, code);
      assert.doesNotMatch(t, /undefined|NaN|\[object Object\]|\$\{/, code);
      assert.match(t, /\.`?$/, `${code}: ends as a sentence`);
      return t;
    });
    assert.equal(new Set(texts).size, texts.length, 'one code per sentence');
  });

  it('says why a key with access outside jit-jump is refused, naming the jump server', () => {
    assert.match(refusalText(detail('key-is-broker-key', { jumpHost: 'bastion' })), /public key jit-jump itself uses to log in to the jump server bastion/);
    assert.match(refusalText(detail('key-stands-outside-block', { jumpHost: 'bastion' })), /already has standing access to the jump server bastion outside jit-jump/);
  });

  it('every refusal, with hostile data, is a message Slack accepts (no raw <word>, no half surrogate)', () => {
    for (const [code, params] of Object.entries(SAMPLES)) {
      const hostile = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? `${'😀'.repeat(30)} <!channel>\n` : v]));
      for (const p of [params, hostile]) {
        const t = refusalText(detail(code as WordedCode, p as never));
        assert.equal(checkMessage({ response_type: 'ephemeral', text: t }), undefined, `${code}: ${t}`);
        assert.doesNotMatch(t, /\p{Cs}/u, code);
      }
    }
  });

  it('a refused reply reads as its refusal', () => {
    assert.equal(replyText({ kind: 'refused', code: 'reason-too-long', params: { length: 501, max: 500 } }), 'The reason is too long (501 characters; at most 500).');
  });

  it('words the access policy’s refusals exactly as before', () => {
    const policy = samplePolicy(); // db-prod-1: max 2h, 2 approvals; min 5m; reason required
    const ok = { hostName: 'db-prod-1', duration: '1h', reason: 'fix replication', hasKey: true };
    const says = (o: Partial<typeof ok>) => wordsOf(evaluateRequest(policy, { ...ok, ...o }));
    assert.equal(says({ hostName: 'nope' }), 'Unknown host "nope". Hosts you can request: `db-prod-1`, `web-1`, `cache-1`.');
    assert.equal(says({ duration: '3h' }), 'db-prod-1 allows at most 2h. Try `/jump request db-prod-1 2h …`.');
    assert.equal(says({ duration: '4m59s' }), 'The shortest grant is 5m. Try `/jump request db-prod-1 5m …`.');
    assert.equal(says({ duration: '2x' }), '"2x" is not a duration. Use e.g. `30m`, `2h` or `1h30m`.');
    assert.equal(says({ reason: ' ' }), 'A reason is required for db-prod-1: `/jump request db-prod-1 1h &lt;why you need access&gt;`.');
    assert.equal(says({ reason: 'x'.repeat(501) }), 'The reason is too long (501 characters; at most 500).');
    assert.equal(says({ hasKey: false }), 'Register your public key first: `/jump key add ssh-ed25519 AAAA… you@laptop`, then request again.');
    // user text is quoted clipped and escaped
    const long = says({ hostName: 'h'.repeat(1000) });
    assert.ok(long.includes(`"${'h'.repeat(64)}"`) && !long.includes('h'.repeat(65)), long);
    assert.ok(says({ duration: `${'9'.repeat(50)}q` }).startsWith(`"${'9'.repeat(20)}" is not a duration`));
    assert.match(says({ hostName: '<!channel>' }), /^Unknown host "&lt;!channel&gt;"/);
  });

  it('words the permission refusals exactly as before, "this host" when none is named', () => {
    const pending = request({ requester: 'U0ALICE', requiredApprovals: 2, approvers: ['U0BOB'] });
    const owners = new Set(['U0ALICE', 'U0BOB']);
    assert.equal(wordsOf(checkDecider(pending, 'U0MALLORY', owners, 'approve')), 'Only the owners of db-prod-1 can approve this request.');
    assert.equal(wordsOf(checkDecider(pending, 'U0MALLORY', owners, 'deny')), 'Only the owners of db-prod-1 can deny this request.');
    assert.equal(wordsOf(checkDecider(pending, 'U0ALICE', owners, 'approve')), 'You cannot approve your own request.');
    assert.equal(wordsOf(checkDecider(pending, 'U0BOB', owners, 'approve')), 'You already approved; 1 more approval(s) from other owners are needed.');
    const stranger = { actor: 'U0X', requester: 'U0Y', owners: new Set(['U0Z']), host: 'db-prod-1' };
    assert.equal(wordsOf(authorize('revoke', stranger)), 'Only the requester or an owner of db-prod-1 can revoke this request.');
    assert.equal(wordsOf(authorize('cancel', stranger)), 'Only the requester or an owner of db-prod-1 can cancel this request.');
    assert.equal(wordsOf(authorize('deny', { ...stranger, host: undefined })), 'Only the owners of this host can deny this request.');
  });

  it('words the key refusals exactly as before', () => {
    const rules = { minRsaBits: 3072 };
    const help = 'Paste the one line from your *.pub file, e.g. `/jump key add ssh-ed25519 AAAAC3Nz… you@laptop`.';
    assert.equal(wordsOf(checkUserPublicKey('', rules)), `No key given. ${help}`);
    assert.equal(wordsOf(checkUserPublicKey('ssh-dss AAAAB3NzaC1kc3MAAACBAP me@laptop', rules)), 'DSA keys are too weak and are refused. Make an ed25519 key: `ssh-keygen -t ed25519`.');
    assert.equal(wordsOf(checkUserPublicKey('restrict ssh-ed25519 AAAAC3Nz', rules)), `A key must start with its type (ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa); nothing may stand before it. ${help}`);
    assert.equal(wordsOf(checkUserPublicKey('ssh-ed25519 AAAA\nssh-ed25519 BBBB', rules)), `Give exactly one key on one line. ${help}`);
    assert.equal(wordsOf(checkUserPublicKey('sk-ssh-ed25519@openssh.com AAAA', rules)), 'Security-key (sk-…) keys are not supported yet. Register an ed25519 key: `ssh-keygen -t ed25519`.');
    assert.equal(refusalText(detail('key-rsa-too-small', { minBits: 3072, bits: 2048 })), 'RSA keys must have at least 3072 bits (this one has 2048). Make an ed25519 key: `ssh-keygen -t ed25519`.');
    const pasted = checkUserPublicKey('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----', rules);
    assert.equal(wordsOf(pasted), PRIVATE_KEY_MESSAGE);
    for (const words of [/That was a \*private\* key/, /treat it as leaked/, /ssh-keygen -t ed25519/]) assert.match(PRIVATE_KEY_MESSAGE, words);
  });

  it('words what the command parser could not read exactly as before, quoting at most 40 characters', () => {
    const says = (text: string) => {
      const c = parseCommand(text);
      assert.equal(c.kind, 'invalid', text);
      return refusalText(c as RefusalDetail);
    };
    assert.equal(says('frobnicate now'), 'Unknown command "frobnicate". Try `/jump help`.');
    // `/jump request` alone opens the form; these words say what to type where Slack did not open it.
    assert.equal(
      replyText({ kind: 'request-form', form: requestFormFor(samplePolicy(), 'U1') }),
      'Slack did not open the request form; nothing was changed. Name a host: `/jump request &lt;host&gt; [duration] [reason…]`, e.g. `/jump request db-prod-1 2h fix replication`.',
    );
    assert.equal(says('key add'), 'Paste your public key after `key add`, e.g. `/jump key add ssh-ed25519 AAAAC3Nz… you@laptop`.');
    assert.equal(says('key rotate'), 'Unknown key command "rotate". Use `/jump key add &lt;public key&gt;`, `/jump key remove` or `/jump key`.');
    assert.equal(says('revoke'), 'Name the request: `/jump revoke &lt;id&gt;` (see `/jump list`).');
    assert.equal(says(`request db ${'x'.repeat(4000)}`), 'That command is too long (over 4000 characters).');
    for (const text of ['x'.repeat(300), `key ${'x'.repeat(100)}`]) {
      const m = says(text);
      assert.ok(m.includes(`"${'x'.repeat(40)}"`) && !m.includes('x'.repeat(41)), m);
    }
    assert.match(says('<!channel>'), /^Unknown command "&lt;!channel&gt;"/);
  });
});

describe('every message the broker builds, through the local Slack’s checks', () => {
  // The fastest way to find a message Slack would refuse or mangle: build each kind, with hostile user text.
  const reason = `${'&'.repeat(397)}ab\ncd😀 <!channel> ${'😀'.repeat(600)}`;
  const r = req({ reason, requiredApprovals: 2, approvers: ['U0BOB'] });
  const states: Partial<AccessRequest>[] = [
    {},
    { state: 'active', expiresAt: EXPIRES },
    { state: 'active' },
    { state: 'expired', expiresAt: EXPIRES },
    { state: 'revoked', decidedBy: 'U0BOSS', endedAt: EXPIRES },
    { state: 'denied', decidedBy: 'U0BOSS', denyReason: reason },
    { state: 'cancelled' },
    { state: 'timed-out' },
    { state: 'failed' },
  ];

  it('approval messages in every state, the connect DM and the deny form', () => {
    for (const o of states) {
      const m = approvalMessage({ ...r, ...o });
      assert.equal(checkMessage({ text: m.text, blocks: m.blocks }), undefined, JSON.stringify(o));
    }
    const policy = samplePolicy();
    const c = connectInstructions(policy.hosts[0]!, policy.jumpHosts[0]!);
    const connect = connectMessage({ ...r, state: 'active', expiresAt: EXPIRES }, c);
    assert.equal(checkMessage(connect), undefined);
    assert.equal(checkView(denyReasonModal('rabc123', '<!channel> 😀')), undefined);
  });

  it('replies, requester DMs and audit lines', () => {
    const key = { line: 'ssh-ed25519 AAAA', type: 'ssh-ed25519', bits: 256, fingerprint: 'SHA256:abc', addedAt: 0 };
    const replies: Reply[] = [
      { kind: 'help' },
      { kind: 'too-many-pending', pending: 3, max: 3 },
      { kind: 'rate-limited', what: 'request', limit: 3, windowMs: 3_600_000, retryAfterMs: 1500 },
      { kind: 'key', key },
      { kind: 'not-an-id', text: `${'😀'.repeat(40)}<x>` },
      { kind: 'list', open: [r, { ...r, state: 'active', expiresAt: EXPIRES }] },
      { kind: 'refused', code: 'unknown-command', params: { text: `${'😀'.repeat(40)}<x>` } },
    ];
    for (const reply of replies) assert.equal(checkMessage({ response_type: 'ephemeral', text: replyText(reply) }), undefined, reply.kind);
    const dms = [
      requesterTexts.grantNotActivated({ ...r, state: 'failed' }),
      requesterTexts.requestDenied({ ...r, state: 'denied', decidedBy: 'U0BOSS', denyReason: reason }),
      requesterTexts.requestTimedOut(r),
      requesterTexts.grantEnded({ ...r, state: 'revoked', decidedBy: 'U0BOSS' }),
      requesterTexts.grantEnded({ ...r, state: 'expired' }),
      requesterTexts.expiryWarning(r, 600_000),
    ];
    for (const text of dms) assert.equal(checkMessage({ text }), undefined, text);
    for (const type of ['requested', 'denied', 'jump-host-alert'] as const)
      assert.equal(checkMessage({ text: auditLine({ type, at: 0, actor: 'U0ENG', requestId: 'rabc123', host: 'db-1', reason, detail: reason }) }), undefined, type);
  });
});

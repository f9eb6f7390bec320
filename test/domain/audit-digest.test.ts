// The daily digest's content (pure): counts by type and refusals by code, the longest grants, grants never used
// (only where the sshd log is read), break-glass awaiting review, drift and alerts, the chain head, standing
// access; the local date and cron pattern of the schedule; and the Slack text within Slack's limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestCron, localDate, summarizeDigest, type DigestInput } from '../../src/domain/audit-digest.ts';
import type { AuditEvent } from '../../src/domain/audit-event.ts';
import { NOT_USED } from '../../src/domain/connection-tracking.ts';
import { controlSequenceProblem } from '../../src/sandbox/slack-checks.ts';
import { DIGEST_MAX_CHARS, digestText } from '../../src/slack/digest-message.ts';
import { digestMetadata } from '../../src/slack/message-metadata.ts';
import { request } from './fixtures.ts';

const H = 3_600_000;
const UNTIL = Date.UTC(2026, 11, 3, 9, 0, 0);
const SINCE = UNTIL - 24 * H;
const HEAD = { seq: 42, hash: 'ab'.repeat(32) };

function input(over: Partial<DigestInput> = {}): DigestInput {
  return { since: SINCE, until: UNTIL, events: [], grants: [], unacknowledged: [], sshdLogJumpHosts: new Set(), chainHead: HEAD, standing: [], ...over };
}
const ev = (type: AuditEvent['type'], extra: Partial<AuditEvent> = {}): AuditEvent => ({ type, at: SINCE + H, ...extra });

describe('summarizeDigest', () => {
  it('counts each event type once and refusals by code, most first', () => {
    const d = summarizeDigest(
      input({
        events: [
          ev('requested'), ev('requested'), ev('approved'), ev('auto-approved'), ev('denied'), ev('break-glass'), ev('expired'), ev('revoked'), ev('revoked'),
          ev('refused', { code: 'rate-limited' }), ev('refused', { code: 'not-owner' }), ev('refused', { code: 'not-owner' }), ev('refused'),
        ],
      }),
    );
    assert.deepEqual(d.counts, { requested: 2, approved: 1, 'auto-approved': 1, denied: 1, 'break-glass': 1, expired: 1, revoked: 2, refused: 4 });
    assert.deepEqual(d.refusals, [['not-owner', 2], ['rate-limited', 1], ['unknown', 1]]);
    assert.deepEqual(d.chainHead, HEAD);
  });

  it('names the five grants held longest (running ones to the window end), each grant once', () => {
    const grants = [1, 2, 3, 4, 5, 6].map((h) => request({ id: `r${h}`, state: 'expired', activatedAt: SINCE, endedAt: SINCE + h * H }));
    const running = request({ id: 'rrun', state: 'active', activatedAt: UNTIL - 30 * H });
    const pending = request({ id: 'rpend', state: 'pending' });
    const d = summarizeDigest(input({ grants: [...grants, grants[0]!, running, pending] }));
    assert.deepEqual(d.longest.map((g) => [g.id, g.heldMs, g.ongoing]), [['rrun', 30 * H, true], ['r6', 6 * H, false], ['r5', 5 * H, false], ['r4', 4 * H, false], ['r3', 3 * H, false]]);
  });

  it('lists as never used only grants ended in the window on jump servers whose sshd log is read', () => {
    const unused = request({ id: 'runused', state: 'expired', activatedAt: SINCE, endedAt: SINCE + H, usage: NOT_USED });
    const used = request({ id: 'rused', state: 'expired', activatedAt: SINCE, endedAt: SINCE + H, usage: 'used 3 min in 1 connection' });
    const noLog = request({ id: 'rnolog', jumpHost: 'edge', state: 'expired', activatedAt: SINCE, endedAt: SINCE + H, usage: NOT_USED });
    const before = request({ id: 'rbefore', state: 'expired', activatedAt: SINCE - 3 * H, endedAt: SINCE - H, usage: NOT_USED });
    const running = request({ id: 'rrunning', state: 'active', activatedAt: SINCE });
    const d = summarizeDigest(input({ grants: [unused, used, noLog, before, running], sshdLogJumpHosts: new Set(['bastion']) }));
    assert.deepEqual(d.unused.map((g) => g.id), ['runused']);
  });

  it('lists break-glass grants not acknowledged, soonest review first, overdue marked', () => {
    const due = request({ id: 'rdue', state: 'active', reviewBy: UNTIL + H });
    const overdue = request({ id: 'rover', state: 'expired', reviewBy: UNTIL - H });
    const acked = request({ id: 'racked', reviewBy: UNTIL - H, acknowledgedBy: 'U0OWNER' });
    const d = summarizeDigest(input({ unacknowledged: [due, overdue, acked] }));
    assert.deepEqual(d.awaitingReview.map((g) => [g.id, g.overdue]), [['rover', true], ['rdue', false]]);
  });

  it('keeps drift repairs and jump-host alerts with their jump server and detail', () => {
    const d = summarizeDigest(input({ events: [ev('drift-repaired', { host: 'bastion', detail: '1 line removed' }), ev('jump-host-alert', { host: 'edge', detail: 'unreachable' })] }));
    assert.deepEqual(d.driftRepaired, [{ jumpHost: 'bastion', at: SINCE + H, detail: '1 line removed' }]);
    assert.deepEqual(d.alerts, [{ jumpHost: 'edge', at: SINCE + H, detail: 'unreachable' }]);
  });
});

describe('the schedule', () => {
  it('turns HH:MM into a daily cron pattern (minute hour)', () => {
    assert.equal(digestCron('09:00'), '0 9 * * *');
    assert.equal(digestCron('23:59'), '59 23 * * *');
    assert.equal(digestCron('00:05'), '5 0 * * *');
    assert.equal(digestCron('14:03:07'), '7 3 14 * * *', 'with seconds: a six-field pattern, seconds first');
    assert.throws(() => digestCron('9:00'));
  });

  it('dates a digest by the local calendar of its time zone', () => {
    const t = Date.UTC(2026, 11, 3, 23, 30);
    assert.equal(localDate(t, 'UTC'), '2026-12-03');
    assert.equal(localDate(t, 'Europe/Berlin'), '2026-12-04');
    assert.equal(localDate(t, 'America/Los_Angeles'), '2026-12-03');
    assert.equal(localDate(Date.UTC(2026, 0, 1, 3), 'America/New_York'), '2025-12-31');
  });
});

describe('the digest message', () => {
  it('says the chain head as a checkpoint, the counts, the lists and the standing report; metadata carries the head', () => {
    const d = summarizeDigest(
      input({
        events: [ev('requested'), ev('refused', { code: 'rate-limited' }), ev('connection')],
        grants: [request({ id: 'rlong', state: 'active', activatedAt: SINCE })],
        standing: [
          { jumpHost: 'bastion', keys: [] },
          { jumpHost: 'edge', keys: [], error: 'connect ECONNREFUSED' },
          { jumpHost: 'third', keys: [{ fingerprint: 'SHA256:x', type: 'ssh-ed25519', comment: '', options: '', line: 3 }] },
        ],
      }),
    );
    const text = digestText(d, '2026-12-03');
    assert.match(text, /Daily audit digest 2026-12-03/);
    assert.ok(text.includes(`checkpoint \`42:${'ab'.repeat(32)}\``));
    assert.match(text, /1 requests, 0 approvals, 0 auto-approved, 0 denials, 0 break-glass, 0 expired, 0 revoked, 1 refusals \(rate-limited 1\); also connection 1/);
    assert.match(text, /`rlong` <@U0ENG> on `db-prod-1`: 1d \(still active\)/);
    assert.match(text, /`edge`: could not be read, standing access unknown \(connect ECONNREFUSED\)/);
    assert.match(text, /`third`: 1 standing key\(s\): SHA256:x line 3/);
    assert.match(text, /`bastion`: none/);
    assert.equal(controlSequenceProblem(text), undefined, 'Slack reads every <…> as a control sequence');
    const meta = digestMetadata(d, '2026-12-03');
    assert.equal(meta.event_type, 'jit_audit_digest');
    assert.deepEqual(
      { seq: meta.event_payload.chain_seq, hash: meta.event_payload.chain_hash, date: meta.event_payload.digest_date, unread: meta.event_payload.jump_hosts_unread, standing: meta.event_payload.standing_keys },
      { seq: 42, hash: HEAD.hash, date: '2026-12-03', unread: 1, standing: 1 },
    );
  });

  it('stays within Slack’s limit however much happened, keeping the chain head', () => {
    const alerts = Array.from({ length: 500 }, (_, i) => ev('jump-host-alert', { host: `jump-${i}`, detail: 'x'.repeat(1000) }));
    const standing = Array.from({ length: 300 }, (_, i) => ({ jumpHost: `jump-server-with-a-long-name-${i}`, keys: [], error: 'e'.repeat(500) }));
    const text = digestText(summarizeDigest(input({ events: alerts, standing })), '2026-12-03');
    assert.ok(text.length <= DIGEST_MAX_CHARS, `${text.length} characters`);
    assert.ok(text.includes(`42:${HEAD.hash}`));
    assert.match(text, /and 495 more/);
    assert.equal(controlSequenceProblem(text), undefined);
  });
});

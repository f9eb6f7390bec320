// The daily digest in the audit channel: one message, its chain head near the top (it is a checkpoint, and a
// cut for length must never take it), then counts and lists, each list capped and the whole message kept under
// Slack's limit for a message's text (4,000 characters shown in full; the API cuts at 40,000).
import type { AuditDigest, JumpHostNote } from '../domain/audit-digest.ts';
import { formatCheckpoint } from '../domain/audit-chain.ts';
import type { AuditEventType } from '../domain/audit-event.ts';
import { formatDuration } from '../domain/duration.ts';
import { oneLine } from '../domain/user-text.ts';
import { escapeMrkdwn, placeholder, userMention } from './mrkdwn.ts';
import { slackDate } from './slack-date.ts';

/** Slack shows a message's text in full up to this many characters. */
export const DIGEST_MAX_CHARS = 3_900;
const LIST_MAX = 5;
const DETAIL_MAX = 160;

/** The counts every digest names, in this order, even when none; other types follow when they occurred. */
const HEADLINE: [AuditEventType, string][] = [
  ['requested', 'requests'],
  ['approved', 'approvals'],
  ['auto-approved', 'auto-approved'],
  ['denied', 'denials'],
  ['break-glass', 'break-glass'],
  ['expired', 'expired'],
  ['revoked', 'revoked'],
];

export function digestText(d: AuditDigest, date: string): string {
  const head = d.chainHead
    ? `*Chain head:* seq ${d.chainHead.seq}, checkpoint \`${formatCheckpoint(d.chainHead)}\` (\`jit-jump audit verify ${placeholder('export')} --checkpoint …\`)`
    : '*Chain head:* no chained events yet';
  const sections = [
    `*Daily audit digest ${date}*: ${slackDate(d.since)} to ${slackDate(d.until)}`,
    head,
    countsLine(d),
    list('Longest grants', d.longest.map((g) => `${grant(g)}: ${formatDuration(g.heldMs)}${g.ongoing ? ' (still active)' : ''}`)),
    list('Grants never used', d.unused.map(grant), 'none (only jump servers with sshdLog are known)'),
    list('Break-glass awaiting review', d.awaitingReview.map((g) => `${grant(g)}: review ${g.overdue ? 'overdue since' : 'due'} ${slackDate(g.reviewBy)}`)),
    list('Drift repaired', d.driftRepaired.map(note)),
    list('Jump-host alerts', d.alerts.map(note)),
    list('Standing access (keys outside the managed block, the broker\'s own excepted)', standingLines(d), 'no jump servers'),
  ];
  return fit(sections);
}

function countsLine(d: AuditDigest): string {
  const named = new Set<string>(HEADLINE.map(([t]) => t));
  const counts = HEADLINE.map(([type, label]) => `${d.counts[type] ?? 0} ${label}`);
  const refusals = d.refusals.reduce((n, [, c]) => n + c, 0);
  counts.push(`${refusals} refusals${refusals ? ` (${d.refusals.map(([code, n]) => `${escapeMrkdwn(code)} ${n}`).join(', ')})` : ''}`);
  named.add('refused');
  const others = (Object.entries(d.counts) as [AuditEventType, number][]).filter(([t]) => !named.has(t)).sort(([a], [b]) => (a < b ? -1 : 1));
  return `*Events:* ${counts.join(', ')}${others.length ? `; also ${others.map(([t, n]) => `${t} ${n}`).join(', ')}` : ''}`;
}

function grant(g: { id: string; requester: string; host: string }): string {
  return `\`${g.id}\` ${userMention(g.requester)} on \`${escapeMrkdwn(g.host)}\``;
}

function note(n: JumpHostNote): string {
  return `${slackDate(n.at)} \`${escapeMrkdwn(n.jumpHost)}\`: ${detail(n.detail)}`;
}

function detail(text: string): string {
  const line = oneLine(text);
  return escapeMrkdwn(line.length > DETAIL_MAX ? `${line.slice(0, DETAIL_MAX - 1)}…` : line);
}

function standingLines(d: AuditDigest): string[] {
  return d.standing.map((e) =>
    e.error !== undefined
      ? `\`${escapeMrkdwn(e.jumpHost)}\`: could not be read, standing access unknown (${detail(e.error)})`
      : e.keys.length === 0
        ? `\`${escapeMrkdwn(e.jumpHost)}\`: none`
        : `\`${escapeMrkdwn(e.jumpHost)}\`: ${e.keys.length} standing key(s): ${e.keys.map((k) => `${k.fingerprint} line ${k.line}`).join(', ')}`,
  );
}

/** A titled list: at most LIST_MAX items, then how many more. */
function list(title: string, items: readonly string[], empty = 'none'): string {
  if (items.length === 0) return `*${title}:* ${empty}`;
  const shown = items.slice(0, LIST_MAX).map((i) => `• ${i}`);
  if (items.length > LIST_MAX) shown.push(`• and ${items.length - LIST_MAX} more (\`jit-jump audit export\` has them all)`);
  return `*${title}:*\n${shown.join('\n')}`;
}

/** Joins the sections; past the limit, the last sections are cut line by line (the title and chain head stay). */
function fit(sections: readonly string[]): string {
  const text = sections.join('\n');
  if (text.length <= DIGEST_MAX_CHARS) return text;
  const cutNote = '\n… (cut for length: `jit-jump audit export` has every event)';
  const lines = text.split('\n');
  let out = '';
  for (const line of lines) {
    if (out.length + line.length + 1 + cutNote.length > DIGEST_MAX_CHARS) break;
    out += (out ? '\n' : '') + line;
  }
  return out + cutNote;
}

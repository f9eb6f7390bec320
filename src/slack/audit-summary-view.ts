// `/jump audit`: the summary as an ephemeral Block Kit message: one line per grant (id, host, requester, who
// approved, granted vs used time, how it ended), then the totals. Within Slack's limits (50 blocks, 3000
// characters a section): past them the rest is counted, with the export command that has everything.
import { formatDuration } from '../domain/duration.ts';
import { MAX_GRANTS_SHOWN, type AuditSummary, type GrantRow } from '../domain/audit-summary.ts';
import type { GrantUse } from '../service/ports.ts';
import type { AuditSummaryReply } from '../service/replies.ts';
import { EVENT_TYPES, type MessageMetadata } from './message-metadata.ts';
import { escapeMrkdwn, userMention } from './mrkdwn.ts';
import { slackDate, withDateFallbacks } from './slack-date.ts';

type Block = { type: string; [key: string]: unknown };

/** Slack's limit for a section's text; the grant lines fill sections up to it. */
const SECTION_LIMIT = 3000;
/** Sections of grant lines at most (with the header, totals and footer well under Slack's 50 blocks). */
const MAX_GRANT_SECTIONS = 8;

/** "every host", "your hosts a, b", "`db-1`", "<@U1>" or "<@U1> on your hosts …": what the summary covers. */
function subjectText(r: AuditSummaryReply): string {
  const own = r.ownHosts && (r.ownHosts.length ? `your hosts ${r.ownHosts.map((h) => `\`${escapeMrkdwn(h)}\``).join(', ')}` : 'your hosts');
  if (r.host !== undefined) return `\`${escapeMrkdwn(r.host)}\`${r.person ? ` for ${userMention(r.person)}` : ''}`;
  if (r.person !== undefined) return `${userMention(r.person)}${own ? ` on ${own}` : ''}`;
  return own ?? 'every host';
}

function approvalText(g: GrantRow): string {
  switch (g.approval.kind) {
    case 'owners':
      return `approved by ${g.approval.by.map(userMention).join(', ')}`;
    case 'auto':
      return g.approval.rule !== undefined ? `auto-approved (rule ${g.approval.rule})` : 'auto-approved';
    case 'break-glass':
      return `:rotating_light: break-glass, ${g.approval.acknowledgedBy ? `acknowledged by ${userMention(g.approval.acknowledgedBy)}` : '*not yet acknowledged*'}`;
    case 'unknown':
      return 'approved before the window';
  }
}

/** "used 14m in 2 connections", "not used", "used —" (the jump server's log is not read). */
function usedText(use: GrantUse | undefined): string {
  if (!use) return 'used —';
  if (use.connections === 0) return 'not used';
  const minutes = Math.floor(use.usedMs / 60_000);
  return `used ${minutes < 1 ? 'under 1m' : formatDuration(minutes * 60_000)} in ${use.connections} connection${use.connections === 1 ? '' : 's'}`;
}

function endText(g: GrantRow): string {
  if (!g.end) return g.expiresAt !== undefined ? `active until ${slackDate(g.expiresAt)}` : 'active';
  const by = g.end.by ? ` by ${userMention(g.end.by)}` : '';
  return `${g.end.state}${by} ${slackDate(g.end.at)}`;
}

export function grantLine(g: GrantRow, use: GrantUse | undefined): string {
  const granted = g.grantedMs > 0 ? formatDuration(g.grantedMs) : '?';
  return `• \`${g.id}\` *${escapeMrkdwn(g.host)}* ${userMention(g.requester)}: ${approvalText(g)}; granted ${granted}, ${usedText(use)}; ${endText(g)}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function totalsText(s: AuditSummary): string {
  const refusals = s.refusals.reduce((n, r) => n + r.count, 0);
  const byCode = s.refusals.length ? ` (${s.refusals.map((r) => `\`${r.code}\` ${r.count}`).join(', ')})` : '';
  const glass = s.breakGlass.uses ? ` (${s.breakGlass.awaitingAcknowledgement} awaiting acknowledgement)` : '';
  return `*Totals:* ${plural(s.grants.length, 'grant')} · ${plural(s.breakGlass.uses, 'break-glass use')}${glass} · ${plural(refusals, 'refusal')}${byCode} · ${plural(s.denials, 'denial')}`;
}

/** The grant lines packed into sections of at most SECTION_LIMIT characters; how many did not fit. */
function grantSections(r: AuditSummaryReply, limit: number): { sections: string[]; left: number } {
  const sections: string[] = [];
  let current = '';
  let shown = 0;
  for (const g of r.summary.grants.slice(0, limit)) {
    const line = grantLine(g, r.usage[g.id]);
    if (current && current.length + 1 + line.length > SECTION_LIMIT) {
      if (sections.length + 1 >= MAX_GRANT_SECTIONS) break;
      sections.push(current);
      current = '';
    }
    // A line is short (ids, policy host names, user ids and date tokens): far under the limit on its own.
    current = current ? `${current}\n${line}` : line;
    shown++;
  }
  if (current) sections.push(current);
  return { sections, left: r.summary.grants.length - shown };
}

/** The summary message: `text` (the same in plain text: notifications, clients without blocks), `blocks`, and its metadata. */
export function auditSummaryMessage(r: AuditSummaryReply, maxShown = MAX_GRANTS_SHOWN): { text: string; blocks: Block[]; metadata: MessageMetadata } {
  const header = `*Audit trail* of ${subjectText(r)} since ${slackDate(r.sinceMs)} (${formatDuration(r.untilMs - r.sinceMs)})`;
  const totals = totalsText(r.summary);
  const { sections, left } = grantSections(r, maxShown);
  const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const blocks: Block[] = [section(header)];
  if (sections.length === 0) blocks.push(section('No grants in this window.'));
  for (const s of sections) blocks.push(section(s));
  if (left > 0)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `… and ${left} more. Everything, event by event: \`jit-jump audit export --since ${new Date(r.sinceMs).toISOString()}\`` }],
    });
  blocks.push(section(totals));
  const shownIds = r.summary.grants.slice(0, r.summary.grants.length - left).map((g) => g.id);
  // The whole summary as plain text too: notifications, and clients (the sandbox's console) that show no blocks.
  const text = withDateFallbacks(blocks.map((b) => (b.text as { text: string } | undefined)?.text ?? (b.elements as { text: string }[]).map((e) => e.text).join(' ')).join('\n'));
  return { text, blocks, metadata: auditSummaryMetadata(r, shownIds) };
}

function auditSummaryMetadata(r: AuditSummaryReply, shownIds: readonly string[]): MessageMetadata {
  const s = r.summary;
  return {
    event_type: EVENT_TYPES.auditSummary,
    event_payload: {
      request_id: '',
      host: r.host ?? '',
      state: 'summary',
      ...(r.person ? { person: r.person } : {}),
      since: r.sinceMs,
      until: r.untilMs,
      grants: s.grants.length,
      grant_ids: shownIds.join(','),
      break_glass: s.breakGlass.uses,
      break_glass_unacknowledged: s.breakGlass.awaitingAcknowledgement,
      refusals: s.refusals.reduce((n, x) => n + x.count, 0),
      refusal_codes: s.refusals.map((x) => `${x.code}:${x.count}`).join(','),
      denials: s.denials,
    },
  };
}

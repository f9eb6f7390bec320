// One line per audit event, as it appears in the audit channel.
import type { AuditEvent } from '../domain/audit-event.ts';
import { formatDuration } from '../domain/duration.ts';
import { escapeMrkdwn, userMention } from './mrkdwn.ts';

const VERB: Record<AuditEvent['type'], string> = {
  requested: 'requested access',
  'approval-recorded': 'recorded an approval',
  approved: 'approved',
  activated: 'access activated',
  denied: 'denied',
  expired: 'access expired',
  revoked: 'revoked access',
  cancelled: 'cancelled',
  'timed-out': 'request timed out',
  failed: 'activation failed',
  'key-registered': 'registered a key',
  'key-replaced': 'replaced their key',
  'key-removed': 'removed their key',
  refused: 'was refused',
  'jump-host-alert': 'jump host alert',
};

/** User text on one line: a reason with line breaks must not be able to imitate further audit lines. */
function text(t: string): string {
  return escapeMrkdwn(t.replace(/\s+/g, ' ').trim());
}

export function auditLine(e: AuditEvent): string {
  const parts = [`\`${new Date(e.at).toISOString()}\``, `*${e.type}*`];
  if (e.actor) parts.push(userMention(e.actor));
  parts.push(VERB[e.type]);
  if (e.requestId) parts.push(`\`${e.requestId}\``);
  if (e.requester && e.requester !== e.actor) parts.push(`for ${userMention(e.requester)}`);
  if (e.host) parts.push(`on \`${text(e.host)}\``);
  if (e.durationMs) parts.push(`for ${formatDuration(e.durationMs)}`);
  if (e.expiresAt) parts.push(`until ${new Date(e.expiresAt).toISOString()}`);
  if (e.reason) parts.push(`reason: “${text(e.reason)}”`);
  if (e.detail) parts.push(`(${text(e.detail)})`);
  return parts.join(' ');
}

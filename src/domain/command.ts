// Parses the text of a `/jump …` slash command. No I/O; policy checks happen in access-policy.ts.
import { parseAuditSince, type AuditSince } from './audit-since.ts';
import { looksLikeDuration } from './duration.ts';
import { containsPrivateKey } from './public-key.ts';
import type { CommandRefusals, RefusalDetail } from './result.ts';

export type JumpCommand =
  | { kind: 'help' }
  | { kind: 'request'; host: string; duration?: string; reason: string }
  /** `/jump breakglass <host> [duration] <reason>`: access at once, for the people breakGlass lists */
  | { kind: 'break-glass'; host: string; duration?: string; reason: string }
  /** `/jump request` alone: the request form */
  | { kind: 'request-form' }
  | { kind: 'key-add'; keyText: string }
  | { kind: 'key-show' }
  | { kind: 'key-remove' }
  /** the text held a private key: refused whatever the verb, and the text is dropped at once */
  | { kind: 'private-key' }
  /** `all`: owners see everything pending and active on their hosts */
  | { kind: 'list'; all: boolean }
  | { kind: 'revoke'; id: string }
  | { kind: 'extend'; id: string; duration: string; reason: string }
  /** `/jump audit [host|@person] [since]`: a summary of the audit trail (auditors; owners for their hosts) */
  | { kind: 'audit'; host?: string; person?: string; since: AuditSince }
  /** what could not be read, worded by the Slack layer */
  | ({ kind: 'invalid' } & RefusalDetail<keyof CommandRefusals>);

export const MAX_COMMAND_TEXT = 4_000;

/** `/jump audit` without a since: the last 7 days. */
export const DEFAULT_AUDIT_WINDOW_MS = 7 * 86_400_000;

function invalid<C extends keyof CommandRefusals>(code: C, params: CommandRefusals[C]): JumpCommand {
  return { kind: 'invalid', code, params } as JumpCommand;
}

function unquote(text: string): string {
  const t = text.trim();
  const m = /^(["'“”‘’])([\s\S]*)(["'“”‘’])$/.exec(t);
  return m ? m[2]!.trim() : t;
}

export function parseCommand(text: string, maxLength = MAX_COMMAND_TEXT): JumpCommand {
  // Checked before anything else, the length too: a long private key must still get the rotate warning.
  if (containsPrivateKey(text)) return { kind: 'private-key' };
  if (text.length > maxLength) return invalid('command-too-long', { max: maxLength });
  const trimmed = text.trim();
  const [verb = '', ...rest] = trimmed.split(/\s+/);
  const afterVerb = trimmed.slice(verb.length).trim();
  switch (verb.toLowerCase()) {
    case '':
    case 'help':
      return { kind: 'help' };
    case 'request':
    case 'breakglass': {
      const kind = verb.toLowerCase() === 'request' ? 'request' : 'break-glass';
      const [host, second, ...more] = rest;
      if (!host) return kind === 'request' ? { kind: 'request-form' } : invalid('break-glass-needs-host', {});
      const reasonStart = (words: string[]) => unquote(words.join(' '));
      // The second word is a duration only if it looks like one ("30m", "2h", "1h30m", "90"); otherwise it starts the reason.
      if (second !== undefined && looksLikeDuration(second)) return { kind, host, duration: second, reason: reasonStart(more) };
      const reasonText = afterVerb.slice(afterVerb.indexOf(host) + host.length);
      return { kind, host, reason: unquote(reasonText) };
    }
    case 'key': {
      const [sub = '', ...keyWords] = rest;
      if (sub === '' || sub.toLowerCase() === 'show') return { kind: 'key-show' };
      if (['remove', 'delete'].includes(sub.toLowerCase())) return { kind: 'key-remove' };
      if (sub.toLowerCase() === 'add') {
        const keyText = afterVerb.slice(afterVerb.toLowerCase().indexOf('add') + 3).trim();
        if (keyWords.length === 0) return invalid('key-add-needs-key', {});
        return { kind: 'key-add', keyText };
      }
      return invalid('unknown-key-command', { text: sub });
    }
    case 'list':
      return { kind: 'list', all: rest[0]?.toLowerCase() === 'all' };
    case 'revoke':
    case 'cancel': {
      const [id] = rest;
      if (!id) return invalid('revoke-needs-id', {});
      return { kind: 'revoke', id };
    }
    case 'extend': {
      const [id, duration] = rest;
      if (!id || !duration) return invalid('extend-needs-id-and-duration', {});
      const reasonText = afterVerb.slice(afterVerb.indexOf(duration, afterVerb.indexOf(id) + id.length) + duration.length);
      return { kind: 'extend', id, duration, reason: unquote(reasonText) };
    }
    case 'audit':
      return parseAudit(rest);
    default:
      return invalid('unknown-command', { text: verb });
  }
}

/** A person as Slack sends a mention in a slash command: `<@U123|name>` or `<@U123>`. */
const MENTION = /^<@([UW][A-Z0-9]{1,40})(?:\|[^>]*)?>$/;
/** A word meant as a date or time ("2026-11-01", "2026-11-01T10:00Z"): read as `since`, or refused as one. */
const LOOKS_LIKE_DATE = /^\d{4}-/;

/** `[host|@person] [since]`: the subject first, then since; one word is since only if it reads as a time. */
function parseAudit(words: readonly string[]): JumpCommand {
  if (words.length > 2) return invalid('audit-bad-arguments', { text: words.slice(2).join(' ') });
  const last = words[words.length - 1];
  const sinceWord = words.length === 2 || (last !== undefined && (looksLikeDuration(last) || LOOKS_LIKE_DATE.test(last))) ? last : undefined;
  const subject = sinceWord === undefined ? words[0] : words.length === 2 ? words[0] : undefined;
  let since: AuditSince = { kind: 'ago', ms: DEFAULT_AUDIT_WINDOW_MS };
  if (sinceWord !== undefined) {
    const parsed = parseAuditSince(sinceWord);
    if (!parsed) return invalid('audit-bad-since', { text: sinceWord });
    since = parsed;
  }
  if (subject === undefined) return { kind: 'audit', since };
  const person = MENTION.exec(subject)?.[1];
  if (person) return { kind: 'audit', person, since };
  // "@name" typed without Slack turning it into a mention (the command does not escape users): no id to go by.
  if (subject.startsWith('@') || subject.startsWith('<')) return invalid('audit-bad-person', { text: subject });
  return { kind: 'audit', host: subject, since };
}

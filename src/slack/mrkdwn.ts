// Text that came from a user is escaped before Slack sees it, so it cannot ping (<!channel>), link or mention.
import { escapeMrkdwn, oneLine } from '../domain/user-text.ts';

export { escapeMrkdwn };

export function userMention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** An owner as the policy names them: a user (<@U…>) or a user group (<!subteam^S…>), both mentioned. */
export function ownerMention(id: string): string {
  return /^S[A-Z0-9]+$/.test(id) ? `<!subteam^${id}>` : userMention(id);
}

/** For text shown inside `code`: backticks would end the code span. */
export function inlineCode(text: string): string {
  return '`' + text.replace(/`/g, 'ˋ') + '`';
}

/** A placeholder in the bot's own words (`<host>`): escaped, or Slack reads it as a control sequence and shows nothing. */
export function placeholder(word: string): string {
  return `&lt;${word}&gt;`;
}

/**
 * User text shown to other people (a reason, a deny reason): on one line, escaped, and at most `maxUnits` UTF-16
 * code units once escaped (Slack's field limits), ending in … when cut. The cut falls between characters of the
 * text as typed, before escaping: never inside `&amp;` nor between the halves of an emoji.
 */
export function userTextForOthers(text: string, maxUnits: number): string {
  const line = oneLine(text);
  const escaped = escapeMrkdwn(line);
  if (escaped.length <= maxUnits) return escaped;
  let out = '';
  for (const ch of line) {
    const next = escapeMrkdwn(ch);
    if (out.length + next.length > maxUnits - 1) break;
    out += next;
  }
  return `${out}…`;
}

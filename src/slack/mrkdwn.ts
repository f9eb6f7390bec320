// Text that came from a user is escaped before Slack sees it, so it cannot ping (<!channel>), link or mention.
import { escapeMrkdwn } from '../domain/user-text.ts';

export { escapeMrkdwn };

export function userMention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** For text shown inside `code`: backticks would end the code span. */
export function inlineCode(text: string): string {
  return '`' + text.replace(/`/g, 'ˋ') + '`';
}

// Text that came from a user is escaped before Slack sees it, so it cannot ping (<!channel>), link or mention.
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function userMention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** For text shown inside `code`: backticks would end the code span. */
export function inlineCode(text: string): string {
  return '`' + text.replace(/`/g, 'ˋ') + '`';
}

// Times shown to people in Slack: a date token that each reader's Slack client renders in their own time zone
// and clock format, with a UTC ISO stamp as the fallback (notifications, clients that cannot render it).
// Log lines and message metadata keep ISO or epoch values: they are for machines.

/**
 * "today at 06:32", "tomorrow at 14:00", "Dec 3, 2026 at 14:00": reads after "until", "since", "Expired",
 * "Revoked by …" and at the start of a line alike (Slack capitalises "Today" there). Never write "at" before it.
 */
export function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} at {time}|${new Date(seconds * 1000).toISOString()}>`;
}

/** The same text with every date token replaced by its fallback: for a message's plain `text` (notifications). */
export function withDateFallbacks(text: string): string {
  return text.replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1');
}

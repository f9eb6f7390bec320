// Text a person typed, shown back to them or to others: Slack must render it literally. Escaping &, < and >
// is what Slack asks for: afterwards no <!channel> ping, no <@U…> mention and no <http://x|fake link> remains.
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A short quote of user text inside a reply: clipped, on one line, escaped. */
export function echo(text: string, max: number): string {
  return escapeMrkdwn(text.slice(0, max).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' '));
}

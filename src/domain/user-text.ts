// Text a person typed, shown back to them or to others: Slack must render it literally. Escaping &, < and >
// is what Slack asks for: afterwards no <!channel> ping, no <@U…> mention and no <http://x|fake link> remains.
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Characters that change a text's layout rather than add to it: control characters (line breaks, tabs),
 * line and paragraph separators, and the bidirectional marks, embeddings, overrides and isolates (U+202E can
 * make a line read backwards).
 */
const LAYOUT = /[\p{Cc}\p{Zl}\p{Zp}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** Half a surrogate pair is not text (Slack may refuse the whole message): U+FFFD instead. */
export function wellFormed(text: string): string {
  return text.replace(/\p{Cs}/gu, '\ufffd');
}

/** At most `max` code points: a cut never falls between the two halves of an emoji. */
export function clipCodePoints(text: string, max: number): string {
  let count = 0;
  let end = 0;
  for (const ch of text) {
    if (count === max) return text.slice(0, end);
    count++;
    end += ch.length;
  }
  return text;
}

/**
 * User text shown to other people, on one line: line breaks, tabs, other control and bidi characters and runs
 * of spaces become one space, so a reason cannot draw lines of its own (a fake "Approvals" row) or reverse.
 */
export function oneLine(text: string): string {
  return wellFormed(text).replace(LAYOUT, ' ').replace(/\s+/g, ' ').trim();
}

/** A short quote of user text inside a reply: clipped by code points, on one line, escaped. */
export function echo(text: string, max: number): string {
  return escapeMrkdwn(wellFormed(clipCodePoints(text, max)).replace(LAYOUT, ' '));
}

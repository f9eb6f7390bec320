// Reads the broker's DMs to the requester for the two moments the sandbox points out to a person: access
// granted (show the ssh command that works here) and access ended (the same command now fails). The sandbox
// only reads the texts the broker already sends; it decides nothing.

export type GrantNotice = { kind: 'granted'; host: string; until: string } | { kind: 'ended'; host: string; text: string };

const GRANTED = /^Access to (\S+) is active until (\S+)\.(?:\s|$)/;
const ENDED = /^Your access to \*?([^*\s]+)\*? \(`?[a-z0-9]+`?\) (has expired|was revoked)/;

/** Slack mrkdwn to the plain text a terminal shows. */
export function plainText(mrkdwn: string): string {
  return mrkdwn.replace(/<@([A-Z0-9]+)>/g, '@$1').replace(/[*`]/g, '');
}

export function readGrantNotice(text: string): GrantNotice | undefined {
  const granted = GRANTED.exec(text);
  if (granted) return { kind: 'granted', host: granted[1]!, until: granted[2]! };
  const ended = ENDED.exec(text);
  if (ended) return { kind: 'ended', host: ended[1]!, text: plainText(text) };
  return undefined;
}

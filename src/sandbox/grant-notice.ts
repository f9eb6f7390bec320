// Reads the broker's DMs to the requester for the two moments the sandbox points out to a person: access
// granted (show the ssh command that works here) and access ended (the same command now fails). The sandbox
// recognises them by their message metadata (jit_grant_active, jit_grant_ended), never by their wording; it
// decides nothing.
import { EVENT_TYPES, metadataOf } from '../slack/message-metadata.ts';

export type GrantNotice = { kind: 'granted'; host: string; until: string } | { kind: 'ended'; host: string; text: string };

/** Slack mrkdwn to the plain text a terminal shows. */
export function plainText(mrkdwn: string): string {
  return mrkdwn.replace(/<@([A-Z0-9]+)>/g, '@$1').replace(/[*`]/g, '');
}

/** `message`: a posted message (or postMessage arguments) with its text and metadata. */
export function readGrantNotice(message: { text?: string; metadata?: unknown }): GrantNotice | undefined {
  const meta = metadataOf(message);
  const host = meta?.event_payload.host;
  if (typeof host !== 'string') return undefined;
  if (meta?.event_type === EVENT_TYPES.grantActive && typeof meta.event_payload.expires_at === 'number')
    return { kind: 'granted', host, until: new Date(meta.event_payload.expires_at).toISOString() };
  if (meta?.event_type === EVENT_TYPES.grantEnded) return { kind: 'ended', host, text: plainText(message.text ?? '') };
  return undefined;
}

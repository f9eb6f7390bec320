// Reads the broker's messages for the two moments the sandbox points out to a person: access granted (show the
// ssh command that works here) and access ended (the same command now fails). The sandbox recognises them by
// their message metadata, never by their wording, and decides nothing.
import { EVENT_TYPES, metadataOf } from '../slack/message-metadata.ts';

export type GrantNotice =
  | { kind: 'granted'; requestId: string; host: string; until: string }
  | { kind: 'ended'; requestId: string; host: string; state: 'expired' | 'revoked' };

const ENDED_STATES = new Set(['expired', 'revoked']);

/**
 * `message`: a posted message (or postMessage/update arguments) with its metadata. Granted: the requester's
 * connect DM (jit_grant_active). Ended: any message about the request in state expired or revoked — the
 * requester's DM says so only when someone else ended the grant, while the audit line and the approval message
 * (updated in place) always carry the state.
 */
export function readGrantNotice(message: { metadata?: unknown }): GrantNotice | undefined {
  const meta = metadataOf(message);
  const { host, request_id: requestId, state, expires_at: expiresAt } = meta?.event_payload ?? {};
  if (typeof host !== 'string' || typeof requestId !== 'string' || requestId === '') return undefined;
  if (meta?.event_type === EVENT_TYPES.grantActive && typeof expiresAt === 'number')
    return { kind: 'granted', requestId, host, until: new Date(expiresAt).toISOString() };
  if (typeof state === 'string' && ENDED_STATES.has(state)) return { kind: 'ended', requestId, host, state: state as 'expired' | 'revoked' };
  return undefined;
}

/** The requests whose grant has ended, from every message the broker posted (any channel). */
export function endedGrants(messages: readonly { metadata?: unknown }[]): Set<string> {
  const ended = new Set<string>();
  for (const m of messages) {
    const n = readGrantNotice(m);
    if (n?.kind === 'ended') ended.add(n.requestId);
  }
  return ended;
}

/** One line for the terminal when a grant of the sandbox engineer ended. */
export function endedLine(n: Extract<GrantNotice, { kind: 'ended' }>): string {
  return `access to ${n.host} (${n.requestId}) ${n.state === 'expired' ? 'has expired' : 'was revoked'}. The same ssh command now fails.`;
}

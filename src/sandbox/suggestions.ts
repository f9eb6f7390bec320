// The commands the console suggests above the message box, in the order a newcomer needs them: the sandbox
// engineer first registers the sandbox key (the exact `/jump key add`), then requests access for the sandbox's
// grant length. Whether the key is registered is read from the audit channel's key lines by their metadata.
import { EVENT_TYPES, metadataOf } from '../slack/message-metadata.ts';

export interface SuggestionContext {
  /** the sandbox engineer: the one person who holds the sandbox key */
  engineer: string;
  /** the sandbox key's public half, as `/jump key add` takes it */
  publicKey: string;
  /** SANDBOX_DURATION */
  duration: string;
}

export const requestSuggestion = (duration: string) => `/jump request internal-1 ${duration} checking the sandbox`;
export const keyAddSuggestion = (publicKey: string) => `/jump key add ${publicKey}`;

/** Whether `user`'s latest key line in the audit channel says they have a key (added or replaced, not removed). */
export function hasRegisteredKey(auditMessages: readonly { metadata?: unknown }[], user: string): boolean {
  let registered = false;
  for (const m of auditMessages) {
    const meta = metadataOf(m);
    if (meta?.event_type !== EVENT_TYPES.keyChanged || meta.event_payload.actor !== user) continue;
    registered = meta.event_payload.state !== 'removed';
  }
  return registered;
}

export function suggestions(user: string, keyRegistered: boolean, c: SuggestionContext): string[] {
  if (user !== c.engineer) return ['/jump help', '/jump list'];
  if (!keyRegistered) return [keyAddSuggestion(c.publicKey), '/jump help'];
  return [requestSuggestion(c.duration), '/jump list', '/jump key', '/jump help'];
}

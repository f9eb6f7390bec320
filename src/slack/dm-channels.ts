// The DM channel of each person the app writes to, opened once (conversations.open) and kept: Slack gives the
// same channel for the same person every time, and conversations.open is rate limited (Tier 3, ≈ 50 a minute),
// while a burst of approvals DMs as many people (and the owner's DM is opened for every request). Bounded: the
// least recently used are forgotten first. Concurrent opens for one person share one call; a failed open is not
// kept, and a channel a post failed in is forgotten (the next DM opens it again).
import type { WebClient } from '@slack/web-api';

export class DmChannels {
  private readonly channels = new Map<string, Promise<string>>();

  constructor(
    private readonly client: Pick<WebClient, 'conversations'>,
    private readonly max = 10_000,
  ) {}

  open(userId: string): Promise<string> {
    const kept = this.channels.get(userId);
    if (kept) {
      // Most recently used last: Map keeps insertion order, so the first key is the one to forget.
      this.channels.delete(userId);
      this.channels.set(userId, kept);
      return kept;
    }
    const opening = this.client.conversations.open({ users: userId }).then((res) => {
      const id = res.channel?.id;
      if (!id) throw new Error(`conversations.open gave no channel for ${userId}`);
      return id;
    });
    this.channels.set(userId, opening);
    opening.catch(() => this.forget(userId, opening));
    if (this.channels.size > this.max) this.channels.delete(this.channels.keys().next().value!);
    return opening;
  }

  /** Forgets `userId`'s channel (only `which`, if given: not one opened again since). */
  forget(userId: string, which?: Promise<string>): void {
    if (which === undefined || this.channels.get(userId) === which) this.channels.delete(userId);
  }
}

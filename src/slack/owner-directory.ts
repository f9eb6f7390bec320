// Expands owners from the policy (users U…/W…, user groups S…) to user ids, with a short cache:
// group membership changes in Slack take effect within `ttlMs`.
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { OwnerDirectory } from '../service/ports.ts';

export class SlackOwnerDirectory implements OwnerDirectory {
  private readonly cache = new Map<string, { users: string[]; at: number }>();

  constructor(private readonly deps: { client: WebClient; logger: Logger; ttlMs?: number; now?: () => number }) {}

  async expand(owners: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const owner of owners) {
      if (!owner.startsWith('S')) {
        out.add(owner);
        continue;
      }
      for (const u of await this.groupMembers(owner)) out.add(u);
    }
    return out;
  }

  private async groupMembers(group: string): Promise<string[]> {
    const now = (this.deps.now ?? Date.now)();
    const hit = this.cache.get(group);
    if (hit && now - hit.at < (this.deps.ttlMs ?? 60_000)) return hit.users;
    try {
      const res = await this.deps.client.usergroups.users.list({ usergroup: group });
      const users = res.users ?? [];
      this.cache.set(group, { users, at: now });
      return users;
    } catch (err) {
      // Fail closed: an unknown group grants nobody the right to approve.
      this.deps.logger.warn({ err, group }, 'could not list user group members');
      return hit?.users ?? [];
    }
  }
}

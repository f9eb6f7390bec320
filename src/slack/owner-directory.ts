// Expands owners from the policy (users U…/W…, user groups S…) to user ids, with a short cache:
// group membership changes in Slack take effect within `ttlMs`.
// Fail closed: while usergroups.users.list fails, a cached membership stands in for at most `staleGraceMs`
// past its ttl (a short Slack hiccup does not block decisions); after that, or with nothing cached, the
// directory answers `owners-unavailable`, so someone removed from a group cannot keep approving on a
// membership list nobody can check any more.
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { ok, refuse } from '../domain/result.ts';
import type { OwnerDirectory, OwnerSet } from '../service/ports.ts';

export const OWNER_CACHE_TTL_MS = 60_000;
/** How long past its ttl a cached group membership is used while Slack's API fails. */
export const OWNER_STALE_GRACE_MS = 5 * 60_000;

export class SlackOwnerDirectory implements OwnerDirectory {
  private readonly cache = new Map<string, { users: string[]; at: number }>();

  constructor(private readonly deps: { client: WebClient; logger: Logger; ttlMs?: number; staleGraceMs?: number; now?: () => number }) {}

  async expand(owners: readonly string[]): Promise<OwnerSet> {
    const out = new Set<string>();
    const unverified: string[] = [];
    for (const owner of owners) {
      if (!owner.startsWith('S')) {
        out.add(owner);
        continue;
      }
      const members = await this.groupMembers(owner);
      if (members) for (const u of members) out.add(u);
      else unverified.push(owner);
    }
    return unverified.length === 0 ? ok(out) : refuse('owners-unavailable', `cannot list the members of ${unverified.join(', ')}`);
  }

  /** The group's members, or undefined when they cannot be verified (see the head of this file). */
  private async groupMembers(group: string): Promise<string[] | undefined> {
    const now = (this.deps.now ?? Date.now)();
    const ttl = this.deps.ttlMs ?? OWNER_CACHE_TTL_MS;
    const hit = this.cache.get(group);
    if (hit && now - hit.at < ttl) return hit.users;
    try {
      const res = await this.deps.client.usergroups.users.list({ usergroup: group });
      const users = res.users ?? [];
      this.cache.set(group, { users, at: now });
      return users;
    } catch (err) {
      const usable = hit !== undefined && now - hit.at < ttl + (this.deps.staleGraceMs ?? OWNER_STALE_GRACE_MS);
      this.deps.logger.warn({ err, group, staleSinceMs: hit && now - hit.at, usingCached: usable }, 'could not list user group members');
      return usable ? hit.users : undefined;
    }
  }
}

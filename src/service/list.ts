// `/jump list`: the person's own open requests and active grants (each active one with how it was used so far,
// where its jump server's sshd log is read), and for owners what awaits their decision; `/jump list all` shows
// owners everything pending and active on their hosts. The Home tab shows owners the same queue (ownerQueue).
import type { AccessRequest } from '../domain/request-state.ts';
import type { ServiceDeps } from './ports.ts';
import type { Outcome } from './replies.ts';
import { usageAtEnd } from './request-events.ts';

export async function listOpen(d: ServiceDeps, user: string, all = false): Promise<Outcome> {
  const recent = await d.requests.recentForUser(user, 20);
  const now = d.clock.now();
  const open = await Promise.all(
    recent.filter((r) => r.state === 'pending' || r.state === 'active').map(async (r) => (r.state === 'active' ? { ...r, ...(await usageAtEnd(d, r, now)) } : r)),
  );
  const queue = await ownerQueue(d, user);
  if (!queue) return { reply: { kind: 'list', open, ownsHosts: false } };
  const { hosts, pending, awaiting } = queue;
  if (!all) return { reply: { kind: 'list', open, awaiting, ownsHosts: true } };
  const jumpHosts = [...new Set(d.policy.hosts.filter((h) => hosts.has(h.name)).map((h) => h.jumpHost))];
  const active = (await Promise.all(jumpHosts.map(async (j) => d.requests.getMany(await d.requests.activeGrantIds(j, now))))).flat().filter((r) => hosts.has(r.host));
  return { reply: { kind: 'list', open, awaiting, onTheirHosts: [...pending, ...active], ownsHosts: true } };
}

/**
 * What an owner sees of their hosts: every pending request on them, and those awaiting this person's decision
 * (not their own, not yet approved by them). Undefined for someone who owns no host.
 */
export async function ownerQueue(
  d: Pick<ServiceDeps, 'policy' | 'owners' | 'requests'>,
  user: string,
): Promise<{ hosts: Set<string>; pending: AccessRequest[]; awaiting: AccessRequest[] } | undefined> {
  const hosts = await hostsOwnedBy(d, user);
  if (hosts.size === 0) return undefined;
  const pending = (await d.requests.getMany(await d.requests.pendingIds())).filter((r) => hosts.has(r.host));
  const awaiting = pending.filter((r) => r.requester !== user && !r.approvers.includes(user));
  return { hosts, pending, awaiting };
}

/** The hosts whose owners include the person (user groups expanded; a group that cannot be read counts as not theirs). */
export async function hostsOwnedBy(d: Pick<ServiceDeps, 'policy' | 'owners'>, user: string): Promise<Set<string>> {
  const owned = new Set<string>();
  for (const h of d.policy.hosts) {
    const expanded = await d.owners.expand(h.owners);
    if (expanded.ok && expanded.value.has(user)) owned.add(h.name);
  }
  return owned;
}

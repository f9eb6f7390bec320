// Whether a person is one of the Slack IDs the policy names (requesters, auto-approval users, the break-glass
// list): users directly, user groups through the owners' directory (cached there). Asked ahead for the lists a
// decision may need, so the decision itself stays pure (domain/access-decision.ts).
import type { Membership } from '../domain/access-decision.ts';
import type { ServiceDeps } from './ports.ts';

export async function membershipOf(d: Pick<ServiceDeps, 'owners'>, user: string, lists: readonly (readonly string[] | undefined)[]): Promise<Membership> {
  const known = new Map<string, boolean | undefined>();
  for (const ids of lists) {
    if (!ids || known.has(ids.join(','))) continue;
    // A person named directly needs no lookup; a group Slack cannot list now answers "cannot tell".
    const expanded = ids.includes(user) ? undefined : await d.owners.expand(ids);
    known.set(ids.join(','), expanded === undefined ? true : expanded.ok ? expanded.value.has(user) : undefined);
  }
  return (ids) => known.get(ids.join(','));
}

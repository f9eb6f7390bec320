// `/jump list`: the person's own open requests and active grants.
import type { ServiceDeps } from './ports.ts';
import type { Outcome } from './replies.ts';

export async function listOpen(d: ServiceDeps, user: string): Promise<Outcome> {
  const recent = await d.requests.recentForUser(user, 20);
  return { reply: { kind: 'list', open: recent.filter((r) => r.state === 'pending' || r.state === 'active') } };
}

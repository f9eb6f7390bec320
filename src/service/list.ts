// `/jump list`: the person's own open requests and active grants, each active one with how it was used so far
// (where its jump server's sshd log is read).
import type { ServiceDeps } from './ports.ts';
import type { Outcome } from './replies.ts';
import { usageAtEnd } from './request-events.ts';

export async function listOpen(d: ServiceDeps, user: string): Promise<Outcome> {
  const recent = await d.requests.recentForUser(user, 20);
  const now = d.clock.now();
  const open = await Promise.all(
    recent
      .filter((r) => r.state === 'pending' || r.state === 'active')
      .map(async (r) => (r.state === 'active' ? { ...r, ...(await usageAtEnd(d, r, now)) } : r)),
  );
  return { reply: { kind: 'list', open } };
}

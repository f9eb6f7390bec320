// The Home tab's contents for one person: their pending requests, active grants and the last ended ones, and
// for owners what awaits their decision (the same queue `/jump list` shows them). Read-only.
import type { AccessRequest } from '../domain/request-state.ts';
import { ownerQueue } from './list.ts';
import type { ServiceDeps } from './ports.ts';

/** How many ended requests the Home tab shows. */
export const ENDED_SHOWN = 10;
/** How many of the person's latest requests are read: enough for the open ones and the last ended ones. */
const RECENT_READ = 50;

export interface HomeContents {
  /** when it was read (for "time left") */
  now: number;
  pending: AccessRequest[];
  active: AccessRequest[];
  /** the latest ended (or refused) requests, newest first, at most ENDED_SHOWN */
  ended: AccessRequest[];
  /** owners: pending requests on their hosts that await their decision; undefined for someone who owns no host */
  awaiting?: AccessRequest[];
}

export async function homeOf(d: Pick<ServiceDeps, 'policy' | 'owners' | 'requests' | 'clock'>, user: string): Promise<HomeContents> {
  const [recent, queue] = await Promise.all([d.requests.recentForUser(user, RECENT_READ), ownerQueue(d, user)]);
  const now = d.clock.now();
  return {
    now,
    pending: recent.filter((r) => r.state === 'pending'),
    active: recent.filter((r) => r.state === 'active'),
    ended: recent.filter((r) => r.state !== 'pending' && r.state !== 'active').slice(0, ENDED_SHOWN),
    ...(queue ? { awaiting: queue.awaiting } : {}),
  };
}

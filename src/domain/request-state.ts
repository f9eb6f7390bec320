// The life of an access request. A request becomes a grant when it turns active; the grant id is the request id.
export const REQUEST_STATES = [
  'pending',
  'approved',
  'active',
  'expired',
  'revoked',
  'denied',
  'cancelled',
  'timed-out',
  'failed',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

const NEXT: Record<RequestState, readonly RequestState[]> = {
  pending: ['approved', 'denied', 'cancelled', 'timed-out'],
  approved: ['active', 'failed', 'cancelled'],
  active: ['expired', 'revoked', 'failed'],
  expired: [],
  revoked: [],
  denied: [],
  cancelled: [],
  'timed-out': [],
  failed: [],
};

export function canTransition(from: RequestState, to: RequestState): boolean {
  return NEXT[from].includes(to);
}

/** The states from which a request may move to `to`: what the store checks atomically. */
export function statesLeadingTo(to: RequestState): RequestState[] {
  return REQUEST_STATES.filter((s) => NEXT[s].includes(to));
}

export function isFinal(state: RequestState): boolean {
  return NEXT[state].length === 0;
}

export interface AccessRequest {
  id: string;
  requester: string;
  host: string;
  jumpHost: string;
  durationMs: number;
  reason: string;
  state: RequestState;
  createdAt: number;
  requiredApprovals: number;
  approvers: string[];
  activatedAt?: number;
  expiresAt?: number;
  endedAt?: number;
  /** who denied, revoked or cancelled */
  decidedBy?: string;
  denyReason?: string;
}

/** Where an approval request was posted, so every copy can be updated in place. */
export interface MessageRef {
  channel: string;
  ts: string;
}

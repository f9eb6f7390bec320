// What the request and key repositories answer, in the shared result shape. Their refusal messages are for
// logs: the service turns each code into its own reply.
import type { RequestState } from './request-state.ts';
import type { Ok, Refusal } from './result.ts';

/** The request's current state came in the way (it is no longer in a state the change starts from). */
export type StateConflict = Refusal<'conflict'> & { state: RequestState };

export type CreateResult = Ok<undefined> | (Refusal<'too-many-pending'> & { pending: number });

export type ApprovalResult =
  | Ok<{ activated: false; approvals: number } | { activated: true; expiresAt: number }>
  | Refusal<'not-found' | 'self-approval' | 'already-approved'>
  | StateConflict;

export type TransitionResult = Ok<{ from: RequestState }> | Refusal<'not-found'> | StateConflict;

export type SetKeyResult = Ok<{ replaced: boolean }> | Refusal<'key-taken'>;

export type RemoveKeyResult = Ok<{ fingerprint: string }> | Refusal<'no-key'>;

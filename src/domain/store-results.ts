// What the request and key repositories answer, in the shared result shape. Their refusal messages are for
// logs: the service turns each code into its own reply.
import type { RequestState } from './request-state.ts';
import type { Ok, Refusal } from './result.ts';

/** The request's current state came in the way (it is no longer in a state the change starts from). */
export type StateConflict = Refusal<'conflict'> & { state: RequestState };

export type CreateResult = Ok<undefined> | (Refusal<'too-many-pending'> & { pending: number });

/**
 * What the current policy says about approving a request on its host: the store checks these in the same
 * atomic step as the approval, so a policy change or a late time-out job never lets through what is refused now.
 */
export interface ApprovalRules {
  /** a request may be approved until createdAt + this (the approval deadline) */
  approvalTimeoutMs: number;
  /** a request asking for longer is refused, not clamped */
  maxDurationMs: number;
  /** stored on the request: a raised count means more approvals are needed */
  requiredApprovals: number;
  /** an extension whose grant would then last longer is refused */
  maxTotalMs: number;
}

/** A lease the store took for the caller (the activation lease, beside the approval that activated): handed back to the store to run under, or released. */
export interface HeldLease {
  release(): void;
}

export type ApprovalResult =
  | Ok<{ activated: false; approvals: number; required: number } | { activated: true; expiresAt: number; lease?: HeldLease } | { activated: false; extendedGrant: string; expiresAt: number }>
  | Refusal<'not-found' | 'self-approval' | 'already-approved'>
  | (Refusal<'too-late'> & { deadline: number })
  | (Refusal<'too-long'> & { durationMs: number })
  /** an extension: its grant ended first, or would last longer than maxTotalMs */
  | (Refusal<'grant-ended'> & { grantState: RequestState })
  | (Refusal<'over-total'> & { totalMs: number })
  | StateConflict;

/** Asking to extend a grant: extended at once (within selfExtend), or an extension request made for its owners. */
export type ExtensionResult =
  | Ok<{ extended: true; expiresAt: number } | { extended: false }>
  | (Refusal<'grant-ended'> & { grantState: RequestState })
  | (Refusal<'over-total'> & { totalMs: number })
  | (Refusal<'waiting'> & { extensionId: string })
  | Refusal<'not-found'>;

export type TransitionResult = Ok<{ from: RequestState }> | Refusal<'not-found'> | StateConflict | (Refusal<'not-due'> & { expiresAt: number });

export type SetKeyResult = Ok<{ replaced: boolean }> | Refusal<'key-taken'>;

export type RemoveKeyResult = Ok<{ fingerprint: string }> | Refusal<'no-key'>;

/** Acknowledging a break-glass grant: done, or someone was first (`by`), or it is no break-glass grant. */
export type AcknowledgeResult = Ok<undefined> | (Refusal<'already'> & { by: string }) | Refusal<'not-break-glass' | 'not-found'>;

// The steps of a request's story after it was asked for. Each is told once, as a reply in the thread of every
// copy of its approval message, by the code path that won the step's atomic move (a retry or a losing replica
// tells nothing). A new step: one line here, its words in src/slack/thread-messages.ts (the compiler asks for
// them), and one `showCurrentState(d, id, step)` where its move succeeds.

export type RequestStep =
  /** an owner's approval was recorded: `approvals` of `required` so far (the last one activates the grant) */
  | { kind: 'approved'; by: string; approvals: number; required: number }
  /** the grant's line is on the jump server and the requester has the connect instructions */
  | { kind: 'activated' }
  /** approved, but installing the key failed (or the key changed): no access was granted */
  | { kind: 'not-activated' }
  | { kind: 'denied' }
  | { kind: 'cancelled' }
  | { kind: 'timed-out' }
  | { kind: 'expired' }
  /** ended early: by the requester (I'm done, `/jump revoke`), an owner, a key change, a retired jump server */
  | { kind: 'revoked' }
  /** the grant's end moved to `endsAt` by `durationMs`: approved by `approvedBy`, or (none) within selfExtend;
   *  told in the grant's thread and in the extension request's */
  | { kind: 'extended'; durationMs: number; endsAt: number; approvedBy: readonly string[] };

export type RequestStepKind = RequestStep['kind'];

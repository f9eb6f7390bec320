// What the access service needs from the outside world, as small interfaces (Slack, scheduling).
import type { ConnectInstructions } from '../domain/connect-instructions.ts';
import type { AccessRequest, MessageRef } from '../domain/request-state.ts';

export interface Notifier {
  /** Posts the Approve/Deny message to each owner's DM and the approval channel; returns where it landed. */
  postApprovalRequest(request: AccessRequest, ownerUserIds: readonly string[]): Promise<MessageRef[]>;
  /** Re-renders every copy of the approval message from the request's current state (buttons gone once decided). */
  updateApprovalMessages(request: AccessRequest, refs: readonly MessageRef[]): Promise<void>;
  sendConnectInstructions(request: AccessRequest, instructions: ConnectInstructions): Promise<void>;
  /** A direct message to one person. */
  notifyUser(userId: string, text: string): Promise<void>;
  /** Whether the activation message of this grant is already in the requester's DM (an earlier attempt died after posting). */
  activationMessageSent?(request: AccessRequest): Promise<boolean>;
}

export interface OwnerDirectory {
  /** Owner ids from the policy (users and user groups) expanded to user ids. */
  expand(owners: readonly string[]): Promise<Set<string>>;
}

/** The timed steps of a request's life that the service has scheduled (the scheduling adapter runs them). */
export type AccessJobName = 'revoke' | 'expiry-warning' | 'timeout';

export interface JobScheduler {
  schedule(name: AccessJobName, requestId: string, at: number, now: number): Promise<void>;
  cancel(name: AccessJobName, requestId: string): Promise<void>;
}

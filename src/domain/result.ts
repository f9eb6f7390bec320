// One result shape for every refusal in domain, store and service: a stable code (audited in `refused`
// events, asserted by tests) and a short technical `message`.
//
// `message` is for logs and audit details only ("duration 3h of db-1 over maxDuration 2h"): never an English
// sentence for the person, and never more of their text than a clipped quote. What the person is shown is
// worded in src/slack/messages.ts (refusalText) from the code and `params`, so every user-facing sentence is
// in one place to reword.

type None = Record<string, never>;

/** Refusals of the access policy (access-policy.ts). */
export interface PolicyRefusals {
  'unknown-host': { host: string; known: string[] };
  /** the host's jump server is retired: it takes no new grants */
  'jump-host-retired': { host: string; jumpHost: string };
  'bad-duration': { text: string };
  'duration-too-long': { host: string; maxMs: number };
  'duration-too-short': { host: string; minMs: number };
  'reason-required': { host: string; durationMs: number };
  'reason-too-long': { length: number; max: number };
  /** the reason does not match the host's reasonPattern: `hint` says what it should look like */
  'reason-mismatch': { host: string; pattern: string; hint?: string };
  /** the host's requesters do not include this person: `owners` are whom to ask */
  'not-a-requester': { host: string; owners: string[] };
  /** break-glass: not among breakGlass.users (or no breakGlass in the policy) */
  'not-break-glass': { host: string; owners: string[] };
  'break-glass-too-long': { host: string; maxMs: number };
  /** a user group among the host's requesters cannot be listed now */
  'requesters-unavailable': { host: string };
  'no-key': None;
  'already-approved': { remaining: number };
  /** an approval after the approval deadline (the time-out job was late): the request times out instead */
  'approval-too-late': { host: string; timeoutMs: number };
  /** the request asks for longer than the host's current maxDuration (the policy changed): it ends, unapproved */
  'approval-over-max-duration': { host: string; durationMs: number; maxMs: number };
  /** shorter approvals (shorter-approval.ts): the chosen duration is no duration, longer than asked, under
   *  minDuration, or a shorter time for an extension (approved as asked only) */
  'approve-bad-duration': { text: string };
  'approve-longer-than-asked': { askedMs: number; chosenMs: number };
  'approve-under-min': { minMs: number; chosenMs: number };
  'approve-shorter-extension': { askedMs: number };
  /** an extension of a grant that is no longer active (or whose time is up) */
  'grant-not-active': { id: string; state: string };
  /** one extension is at most the host's maxDuration */
  'extension-too-long': { id: string; host: string; maxMs: number };
  'extension-too-short': { id: string; minMs: number };
  /** the grant would last longer than maxTotalDuration; `leftMs`: how much it may still be extended */
  'extension-over-total': { host: string; maxTotalMs: number; leftMs: number };
  'extension-reason-required': { id: string; durationMs: number };
  /** an extension of this grant already waits for its owners */
  'extension-waiting': { id: string; extensionId: string };
  /** the grant ended before its extension was approved: nothing is extended */
  'extension-grant-ended': { id: string };
}

/** Refusals of the permission table (authorization.ts). not-owner is worded by its action: the code is audited. */
export interface AuthorizationRefusals {
  'self-approval': None;
  'not-owner': { action: 'approve' | 'deny' | 'cancel' | 'revoke' | 'request-again' | 'extend' | 'acknowledge'; host?: string };
  'not-allowed': None;
  /** a user group among the host's owners cannot be listed now (Slack's API fails past the cache's grace) */
  'owners-unavailable': { host: string };
  /** `/jump audit`: neither among the policy's auditors nor an owner of the host asked about (`host`), or of any host */
  'not-auditor': { host?: string };
  /** `/jump audit`: a user group among the policy's auditors cannot be listed now, so who is one cannot be told */
  'auditors-unavailable': None;
}

/** Refusals of a public key text (public-key.ts). */
export interface KeyRefusals {
  'private-key-pasted': None;
  'key-too-long': None;
  'key-missing': None;
  'key-not-one-line': None;
  'key-control-characters': None;
  'key-dsa': None;
  'key-certificate': None;
  'key-security-key': None;
  'key-no-type': None;
  'key-bad-base64': None;
  'key-unparsable': None;
  'key-not-round-trip': None;
  'key-type-mismatch': { type: string };
  'key-rsa-too-small': { minBits: number; bits: number };
}

/** A key that already has access on a jump server outside jit-jump (keys.ts): never registered. */
export interface StandingKeyRefusals {
  /** the public key the broker itself logs in to this jump server with */
  'key-is-broker-key': { jumpHost: string };
  /** the key stands in the jump account's authorized_keys outside the managed block */
  'key-stands-outside-block': { jumpHost: string };
}

/** What the command parser could not read (command.ts). */
export interface CommandRefusals {
  'command-too-long': { max: number };
  'request-needs-host': None;
  'key-add-needs-key': None;
  'unknown-key-command': { text: string };
  'revoke-needs-id': None;
  'extend-needs-id-and-duration': None;
  'break-glass-needs-host': None;
  /** `/jump audit`: the since word is no duration, date or zoned ISO time */
  'audit-bad-since': { text: string };
  /** `/jump audit`: the since lies in the future */
  'audit-since-future': { at: number };
  /** `/jump audit`: "@name" arrived as typed, not as a Slack mention (no user id to go by) */
  'audit-bad-person': { text: string };
  /** `/jump audit`: words after [host|@person] [since] */
  'audit-bad-arguments': { text: string };
  'unknown-command': { text: string };
}

/** The refusals a person is shown as they are, each with the data its sentence needs: one code per sentence. */
export interface RefusalParams extends PolicyRefusals, AuthorizationRefusals, KeyRefusals, StandingKeyRefusals, CommandRefusals {}

/** A refusal the person is shown as it is (worded by the Slack layer). */
export type WordedCode = keyof RefusalParams;

/** Why something was refused. Grows with the capabilities; codes are stable once published in audit events. */
export type RefusalCode =
  | WordedCode
  | 'other-workspace'
  | 'untrusted-origin'
  | 'not-found'
  | 'not-pending'
  | 'not-active'
  | 'key-taken'
  | 'rate-limited'
  | 'too-many-pending'
  | 'conflict'
  | 'unavailable'
  /** a policy reload (SIGHUP, a change of the policy file) found the new policy invalid: the old one stays */
  | 'policy-invalid';

/** A code with its data, one member per code, so that a switch over `code` knows its `params`. */
export type RefusalDetail<C extends WordedCode = WordedCode> = C extends WordedCode ? { code: C; params: RefusalParams[C] } : never;

export type Ok<T> = { ok: true; value: T };
/** A refusal the service answers with a reply of its own (store results): code and log detail. */
export type Refusal<C extends string = RefusalCode> = { ok: false; code: C; message: string };
/** A refusal to be shown: also the data of its sentence. */
export type Refused<C extends WordedCode = WordedCode> = C extends WordedCode ? Refusal<C> & { params: RefusalParams[C] } : never;
export type Result<T, C extends WordedCode = WordedCode> = Ok<T> | Refused<C>;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const ok0 = (): Ok<undefined> => ({ ok: true, value: undefined });
export function refuse<C extends WordedCode>(code: C, message: string, params: RefusalParams[C]): Refused<C>;
export function refuse<C extends string = RefusalCode>(code: C, message: string): Refusal<C>;
export function refuse(code: string, message: string, params?: object) {
  return params === undefined ? { ok: false, code, message } : { ok: false, code, message, params };
}

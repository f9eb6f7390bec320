// One result shape for every refusal in domain, store and service: a stable code (audited in `refused`
// events, asserted by tests) and the sentence the person is shown.

/** Why something was refused. Grows with the capabilities; codes are stable once published in audit events. */
export type RefusalCode =
  | 'bad-input'
  | 'other-workspace'
  | 'untrusted-origin'
  | 'not-found'
  | 'not-pending'
  | 'not-active'
  | 'not-owner'
  | 'self-approval'
  | 'already-approved'
  | 'no-key'
  | 'bad-key'
  | 'private-key-pasted'
  | 'key-taken'
  | 'bad-duration'
  | 'duration-out-of-range'
  | 'reason-required'
  | 'reason-too-long'
  | 'unknown-host'
  | 'rate-limited'
  | 'too-many-pending'
  | 'not-allowed'
  | 'conflict'
  | 'unavailable';

export type Ok<T> = { ok: true; value: T };
export type Refusal<C extends string = RefusalCode> = { ok: false; code: C; message: string };
export type Result<T, C extends string = RefusalCode> = Ok<T> | Refusal<C>;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const ok0 = (): Ok<undefined> => ({ ok: true, value: undefined });
export const refuse = <C extends string = RefusalCode>(code: C, message: string): Refusal<C> => ({ ok: false, code, message });

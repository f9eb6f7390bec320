// Coded errors of the jump-host adapter; the message is what an operator should read.
export class HostKeyMismatchError extends Error {
  readonly code = 'HOST_KEY_MISMATCH';
  constructor(
    readonly jumpHost: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`jump host ${jumpHost} presented host key ${actual}, but ${expected} is pinned: refusing to connect`);
    this.name = 'HostKeyMismatchError';
  }
}

export class JumpHostUnavailableError extends Error {
  readonly code = 'JUMP_HOST_UNAVAILABLE';
  constructor(
    readonly jumpHost: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`jump host ${jumpHost} unavailable: ${message}`, options);
    this.name = 'JumpHostUnavailableError';
  }
}

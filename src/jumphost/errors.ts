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

/**
 * A write refused by its fencing token: the block on the server carries a generation at least as high as this
 * sync's, so this rendering is older than what stands there (a replica that lost its lock) or the counter in
 * Redis fell behind the file (Redis restored). `phase` says whether it was seen when reading or right before
 * the rename, after the temp file was written.
 */
export class StaleBlockError extends Error {
  readonly code = 'STALE_BLOCK';
  constructor(
    readonly jumpHost: string,
    readonly generation: number,
    readonly onServer: number,
    readonly phase: 'read' | 'rename',
  ) {
    super(`jump host ${jumpHost}: the managed block on the server has generation ${onServer}, not older than this write's ${generation}: not replacing it`);
    this.name = 'StaleBlockError';
  }
}

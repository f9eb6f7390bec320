// A lease-style lock in Redis (SET NX PX, renewed while held, compare-and-delete on release), so that one
// replica at a time runs a critical section such as rendering and writing one jump server's block.
// A holder killed with kill -9 blocks the others for at most one lease; one whose work hangs, for at most
// maxHoldMs when that is set. Waiters poll: sections are short.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { answersOf, NO_READ, runRead, type PipelinedRead } from './pipelined-read.ts';
import { runScript } from './scripts.ts';

export class LockTimeoutError extends Error {
  constructor(key: string, waitedMs: number) {
    super(`could not take lock ${key} within ${waitedMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

export class LockLostError extends Error {
  constructor(key: string) {
    super(`lost lock ${key} (lease could not be renewed)`);
    this.name = 'LockLostError';
  }
}

export class LockHeldTooLongError extends Error {
  constructor(key: string, maxHoldMs: number) {
    super(`gave up lock ${key} after holding it ${maxHoldMs} ms (the work under it did not finish)`);
    this.name = 'LockHeldTooLongError';
  }
}

/** A lock taken by `tryTake` and held: the work runs under it once, or it is given back. */
export interface TakenLock<R> {
  run<T>(fn: (lease: Lease, value: R) => Promise<T>): Promise<T>;
  release(): void;
}

export interface Lease {
  /** throws LockLostError if the lease could not be renewed: check it right before an irreversible step */
  check(): void;
}

export class RedisLock {
  constructor(
    private readonly redis: Redis,
    private readonly o: {
      leaseMs: number;
      waitMs?: number;
      pollMs?: number;
      /**
       * Held no longer than this: then renewal stops, the lease is released, check() throws, and with/tryWith
       * reject with LockHeldTooLongError. `fn` is abandoned, not stopped: it must check() before an
       * irreversible step. Without it a call that never settles would keep the lock from everyone for ever.
       */
      maxHoldMs?: number;
    },
  ) {}

  /** Runs `fn` holding `key`, waiting up to waitMs for it. */
  with<T>(key: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
    return this.withRead(key, NO_READ, (lease) => fn(lease));
  }

  /**
   * `with`, and `read` answered under the lock: sent in the same round trip as the lock's first try (Redis runs it
   * right after the lock is taken); if the lock was held, read again once it is taken. `fn` gets its value.
   */
  async withRead<R, T>(key: string, read: PipelinedRead<R>, fn: (lease: Lease, value: R) => Promise<T>): Promise<T> {
    const first = await this.take(key, read);
    if (first) return this.holding(key, first.token, (lease) => fn(lease, first.value()));
    const waitMs = this.o.waitMs ?? 0;
    const token = await this.acquire(key, waitMs);
    if (token === undefined) throw new LockTimeoutError(key, waitMs);
    return this.holding(key, token, async (lease) => fn(lease, await runRead(this.redis, read)));
  }

  /** Runs `fn` holding `key` if it is free now; undefined (and `fn` not run) if someone holds it. */
  tryWith<T>(key: string, fn: (lease: Lease) => Promise<T>): Promise<T | undefined> {
    return this.tryWithRead(key, NO_READ, (lease) => fn(lease));
  }

  /** tryWith, with `read` sent in the same round trip as the taking of the lock and answered only to its taker. */
  async tryWithRead<R, T>(key: string, read: PipelinedRead<R>, fn: (lease: Lease, value: R) => Promise<T>): Promise<T | undefined> {
    return (await this.tryTake(key, read))?.run(fn);
  }

  /**
   * One try at the lock, `read` behind it in the same round trip, without running anything yet: for work that
   * needs the lock only if what was sent just before says so (an approval that activates a grant takes the
   * activation lease beside it). A lock taken is held from then on: `run` the work under it (once), or `release` it.
   */
  async tryTake<R>(key: string, read: PipelinedRead<R>): Promise<TakenLock<R> | undefined> {
    const taken = await this.take(key, read);
    if (!taken) return undefined;
    return {
      run: (fn) => this.holding(key, taken.token, (lease) => fn(lease, taken.value()), taken.takenAt),
      release: () => void this.release(key, taken.token),
    };
  }

  /** One try at the lock, `read` behind it in the same pipeline. Its value is decoded under the lock (by
   *  `holding`), so an error answer releases the lock like any failure of the work. */
  private async take<R>(key: string, read: PipelinedRead<R>): Promise<{ token: string; takenAt: number; value: () => R } | undefined> {
    const token = randomBytes(12).toString('hex');
    const pipe = this.redis.pipeline().set(key, token, 'PX', this.o.leaseMs, 'NX');
    read.send(pipe);
    const takenAt = Date.now();
    const [taken, ...rest] = (await pipe.exec()) ?? [];
    if (taken?.[0]) throw taken[0];
    return taken?.[1] === 'OK' ? { token, takenAt, value: () => read.decode(answersOf(rest)) } : undefined;
  }

  private async release(key: string, token: string): Promise<void> {
    await runScript(this.redis, 'release-lock', { lock: key }, { token }).catch(() => undefined); // it expires anyway
  }

  /** Polls for the lock after a first try failed, for up to waitMs. */
  private async acquire(key: string, waitMs: number): Promise<string | undefined> {
    const token = randomBytes(12).toString('hex');
    const started = Date.now();
    for (;;) {
      if (Date.now() - started >= waitMs) return undefined;
      await new Promise((r) => setTimeout(r, (this.o.pollMs ?? 20) * (0.5 + Math.random())));
      if ((await this.redis.set(key, token, 'PX', this.o.leaseMs, 'NX')) === 'OK') return token;
    }
  }

  /** `takenAt`: when the lease began (sent): it counts from then, however late the work starts under it. */
  private async holding<T>(key: string, token: string, fn: (lease: Lease) => Promise<T>, takenAt = Date.now()): Promise<T> {
    let lost = false;
    let renewedAt = takenAt;
    const renew = setInterval(() => {
      runScript(this.redis, 'renew-lock', { lock: key }, { token, leaseMs: this.o.leaseMs }).then(
        (r) => {
          if (r.status === 'renewed') renewedAt = Date.now();
          else lost = true;
        },
        () => undefined, // judged by age below
      );
    }, Math.max(10, Math.floor(this.o.leaseMs / 3)));
    const lease: Lease = {
      check: () => {
        // Not renewed for most of a lease: another replica may hold it by now.
        if (lost || Date.now() - renewedAt > (this.o.leaseMs * 2) / 3) throw new LockLostError(key);
      },
    };
    const work = (async () => fn(lease))(); // a synchronous throw too becomes this rejection
    let cap: NodeJS.Timeout | undefined;
    const { maxHoldMs } = this.o;
    if (maxHoldMs !== undefined) work.catch(() => undefined); // if abandoned at the cap, its late failure is nobody's
    const capped =
      maxHoldMs === undefined
        ? work
        : Promise.race([
            work,
            new Promise<never>((_, reject) => {
              cap = setTimeout(() => {
                lost = true;
                reject(new LockHeldTooLongError(key, maxHoldMs));
              }, maxHoldMs);
            }),
          ]);
    try {
      return await capped;
    } finally {
      clearTimeout(cap);
      clearInterval(renew);
      await this.release(key, token);
    }
  }
}

// A read that rides in another command's pipeline: sent in the same round trip as the taking of a lock, Redis runs
// it right after the lock is taken (one connection's commands run in order), so it reads what the holder may rely
// on without a round trip of its own. The store that owns the keys says what to send and how to read the answers.
import type { ChainableCommander, Redis } from 'ioredis';

export interface PipelinedRead<R> {
  /** Adds the read's commands to `pipe` (called when the pipeline is built: a time it depends on is taken then). */
  send(pipe: ChainableCommander): void;
  /** how many commands `send` adds */
  readonly commands: number;
  /** The value, from the answers of those commands (an error answer is thrown). */
  decode(answers: readonly unknown[]): R;
}

/** Nothing to read (a lock taken on its own). */
export const NO_READ: PipelinedRead<undefined> = { send: () => undefined, commands: 0, decode: () => undefined };

/** Several reads sent together; their values in the same order. */
export function allReads<T extends unknown[]>(...reads: { [K in keyof T]: PipelinedRead<T[K]> }): PipelinedRead<T> {
  return {
    commands: reads.reduce((n, r) => n + r.commands, 0),
    send: (pipe) => reads.forEach((r) => r.send(pipe)),
    decode: (answers) => {
      let at = 0;
      return reads.map((r) => r.decode(answers.slice(at, (at += r.commands)))) as T;
    },
  };
}

/** The answers of an executed pipeline, in order; an error answer is thrown. */
export function answersOf(results: readonly [Error | null, unknown][] | null): unknown[] {
  return (results ?? []).map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/** Runs a read on its own, in a pipeline of its own (one round trip). */
export async function runRead<R>(redis: Redis, read: PipelinedRead<R>): Promise<R> {
  const pipe = redis.pipeline();
  read.send(pipe);
  return read.decode(answersOf(await pipe.exec()));
}

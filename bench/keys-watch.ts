// When a grant's key line appears in (or leaves) a jump server's authorized_keys, seen from outside the broker:
// inotify on the file's directory (the broker replaces the file by rename) plus a 2 ms poll as a safety net.
// Reading happens only while someone waits, so an idle watch costs nothing beside the broker.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** The grant ids of every rendered key line (`… jit:<id>[,<id>…]`). */
export function grantIdsIn(text: string): Set<string> {
  const ids = new Set<string>();
  for (const m of text.matchAll(/ jit:(\S+)$/gm)) for (const id of m[1]!.split(',')) ids.add(id);
  return ids;
}

export interface Seen {
  /** performance.now() when the state was seen */
  mono: number;
  /** Date.now() at the same moment (to compare with the broker's expiry instants) */
  wall: number;
}

interface Waiter {
  test: (ids: Set<string>) => boolean;
  resolve: (seen: Seen) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class KeysWatch {
  private readonly waiters = new Set<Waiter>();
  private readonly watcher: FSWatcher;
  private readonly poll: NodeJS.Timeout;
  /** files renamed onto the path so far: one per write of a temp file + rename (the broker's, sed -i's) */
  renames = 0;

  constructor(private readonly path: string) {
    this.watcher = watch(dirname(path), (event, file) => {
      if (event === 'rename' && file === basename(path)) this.renames++;
      this.check();
    });
    this.poll = setInterval(() => this.check(), 2);
  }

  ids(): Set<string> {
    return grantIdsIn(readFileSync(this.path, 'utf8'));
  }

  private check(): void {
    if (this.waiters.size === 0) return;
    let ids: Set<string>;
    try {
      ids = this.ids();
    } catch {
      return; // between a writer's steps; the next event or tick reads again
    }
    const seen = { mono: performance.now(), wall: Date.now() };
    for (const w of this.waiters) {
      if (!w.test(ids)) continue;
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve(seen);
    }
  }

  /** Resolves when `test` holds for the ids on file (at once if it already does). */
  until(what: string, test: (ids: Set<string>) => boolean, timeoutMs = 60_000): Promise<Seen> {
    return new Promise<Seen>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${this.path}`));
      }, timeoutMs);
      const w: Waiter = { test, resolve, reject, timer };
      this.waiters.add(w);
      this.check();
    });
  }

  present(id: string, timeoutMs?: number): Promise<Seen> {
    return this.until(`line of ${id}`, (ids) => ids.has(id), timeoutMs);
  }

  gone(id: string, timeoutMs?: number): Promise<Seen> {
    return this.until(`line of ${id} gone`, (ids) => !ids.has(id), timeoutMs);
  }

  close(): void {
    this.watcher.close();
    clearInterval(this.poll);
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('watch closed'));
    }
    this.waiters.clear();
  }
}

/** Runs `fn` over `items` with at most `concurrency` at once; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** Polls `probe` every few ms until it gives a value (for state that has no file to watch). */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

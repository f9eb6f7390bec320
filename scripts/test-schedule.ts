// Which test file `npm test` starts next when it runs several at once (scripts/run-tests.ts).

export interface Task {
  file: string;
  /** its place in name order (the summary's order) */
  index: number;
  timeoutMs: number;
  /** `// test-exclusive`: runs with no other file beside it */
  exclusive: boolean;
}

/**
 * Files known to take long (15 s to 90 s each in a two-at-a-time run on a busy 2-core machine, against 1 s to 6 s
 * for most others). Starting them first keeps the run from ending with one of them alone while the other job
 * idles; a file with a `// test-timeout:` longer than the default counts as slow too.
 */
const KNOWN_SLOW = [
  /^test\/e2e\//,
  /^test\/sandbox\/console\.browser\.test\.ts$/,
  /^test\/chaos\//,
  /^test\/redis\//,
  /^test\/jumphost\/sshd-log-fixture\.test\.ts$/,
  /^test\/cli\/check-config\.test\.ts$/,
  /^test\/slack\/ack-deadline\.test\.ts$/,
  /^test\/scripts\/run-tests\.test\.ts$/,
];

/** Exclusive files first (alone, before the others start), then the slow ones, then the rest; name order within. */
export function startOrder<T extends Task>(tasks: T[], defaultTimeoutMs: number): T[] {
  const rank = (t: Task) => (t.exclusive ? 0 : t.timeoutMs > defaultTimeoutMs || KNOWN_SLOW.some((re) => re.test(t.file)) ? 1 : 2);
  return [...tasks].sort((a, b) => rank(a) - rank(b) || b.timeoutMs - a.timeoutMs || a.index - b.index);
}

/**
 * Runs the tasks, up to `jobs` at once and an exclusive one alone; `end` is called as each finishes (one at a time,
 * so its output is printed whole). Returns the results in name order.
 */
export async function runAll<T extends Task, R>(
  tasks: T[],
  jobs: number,
  defaultTimeoutMs: number,
  on: { start: (t: T) => void; run: (t: T) => Promise<R>; end: (t: T, r: R) => void },
): Promise<R[]> {
  const queue = startOrder(tasks, defaultTimeoutMs);
  const results: R[] = new Array(tasks.length);
  const running = new Map<T, Promise<T>>();
  const mayStart = (t: T) => running.size < jobs && (running.size === 0 || (!t.exclusive && ![...running.keys()].some((r) => r.exclusive)));
  while (queue.length > 0 || running.size > 0) {
    while (queue.length > 0 && mayStart(queue[0]!)) {
      const t = queue.shift()!;
      on.start(t);
      running.set(
        t,
        on.run(t).then((r) => {
          results[t.index] = r;
          return t;
        }),
      );
    }
    const finished = await Promise.race(running.values());
    running.delete(finished);
    on.end(finished, results[finished.index]!);
  }
  return results;
}

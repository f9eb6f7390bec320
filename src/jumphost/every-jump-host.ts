// A pass over every jump server (the start-up sync, a sync after a policy reload, a reconcile) runs a few syncs
// at a time. All at once, 100 jump servers × 100 grants each held their grants, rendered lines and file contents
// in memory together, promoted across the SFTP round trips: a peak the old generation was then sized from. The
// pass is CPU-bound on one core either way. Single syncs (an approval, a revoke, an expiry) never wait for this.
export const SYNCS_AT_ONCE = 8;

/** `work` for each name, at most SYNCS_AT_ONCE at a time, the results in the order of `names`; rejects as
 *  Promise.all does (with the first failure), the others still run. */
export async function forEveryJumpHost<T>(names: readonly string[], work: (name: string) => Promise<T>): Promise<T[]> {
  const results: Promise<T>[] = [];
  const running = new Set<Promise<unknown>>();
  for (const name of names) {
    if (running.size >= SYNCS_AT_ONCE) await Promise.race(running);
    const result = work(name);
    results.push(result);
    const done: Promise<unknown> = result.then(
      () => running.delete(done),
      () => running.delete(done),
    );
    running.add(done);
  }
  return Promise.all(results);
}

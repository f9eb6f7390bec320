// One run per key at a time; a call while one runs queues exactly one more, which every caller meanwhile
// shares. A caller is answered by a run that started after its call, so a change made before the call is seen,
// and a burst of calls costs at most two runs. The sync of a jump server and the pass over its log both work so.
export class CoalescedRuns<T> {
  private readonly slots = new Map<string, { running?: Promise<T>; next?: Promise<T> }>();

  constructor(private readonly run: (key: string) => Promise<T>) {}

  /** Resolves once a run that started after this call has finished. */
  request(key: string): Promise<T> {
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = {}));
    const s = slot;
    if (!s.running) {
      s.running = this.run(key).finally(() => (s.running = undefined));
      return s.running;
    }
    // A run is going and may have read the state before the caller's change: queue exactly one more.
    s.next ??= s.running
      .catch(() => undefined)
      .then(() => {
        s.next = undefined;
        return this.request(key);
      });
    return s.next;
  }

  /** Every run going or queued now, settled (for stopping). */
  settled(): Promise<void> {
    const pending = [...this.slots.values()].flatMap((s) => [s.running, s.next]).filter((p): p is Promise<T> => p !== undefined);
    return Promise.all(pending.map((p) => p.catch(() => undefined))).then(() => undefined);
  }
}

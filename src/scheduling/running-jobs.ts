// The jobs a worker is running, so that shutdown can hand back those still running at its deadline: each is
// moved back to the wait list (its lock released) and another replica takes it at once, instead of after its
// lock lapses and a stalled-job check finds it (30–60 s, and it counts as a stall). Handlers are idempotent, so
// one that still runs on here for a moment is harmless. The worker is told the job was moved (WaitingError,
// BullMQ's pattern for a job moved by hand), so it stops waiting for it and can close its connections.
import { WaitingError, type Job } from 'bullmq';

type Processor<T> = (job: Job, token?: string) => Promise<T>;

export class RunningJobs {
  private readonly running = new Map<Job, { token: string; handBack: () => Promise<void> }>();

  /** `processor`, with each run registered until it settles or is handed back. */
  track<T>(processor: Processor<T>): Processor<T> {
    return async (job, token) => {
      if (token === undefined) return processor(job, token);
      let handedBack!: (err: Error) => void;
      const moved = new Promise<never>((_, reject) => (handedBack = reject));
      this.running.set(job, {
        token,
        handBack: async () => {
          await job.moveToWait(token);
          handedBack(new WaitingError('handed back at shutdown'));
        },
      });
      try {
        return await Promise.race([processor(job, token), moved]);
      } finally {
        this.running.delete(job);
      }
    };
  }

  /** Moves every job still running back to the wait list; returns their ids. */
  async handBack(): Promise<string[]> {
    const ids: string[] = [];
    for (const [job, run] of [...this.running]) {
      this.running.delete(job);
      try {
        await run.handBack();
        ids.push(job.id ?? '?');
      } catch {
        // its lock is gone already (it lapsed, or the job just finished): BullMQ's stalled check has it
      }
    }
    return ids;
  }
}

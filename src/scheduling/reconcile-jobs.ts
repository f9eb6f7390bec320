// Runs the reconciler on every replica's behalf: one BullMQ job scheduler (upsertJobScheduler, BullMQ 6) makes
// one job per interval, and each job goes to exactly one worker, so only one replica reconciles per tick.
// Every replica upserts the same scheduler at start (idempotent; the interval in the policy wins).
import { ScheduledQueue, type ScheduledQueueDeps } from './scheduled-queue.ts';

export const RECONCILE_QUEUE = 'jit-jump-reconcile';
const SCHEDULER_ID = 'reconcile-every-jump-host';

export class ReconcileJobs extends ScheduledQueue {
  constructor(private readonly o: ScheduledQueueDeps & { everyMs: number }) {
    super(RECONCILE_QUEUE, o, 'reconcile');
  }

  async start(run: () => Promise<unknown>): Promise<void> {
    this.keepTrying(async () => {
      await this.dropStaleSchedule();
      await this.queue.upsertJobScheduler(
        SCHEDULER_ID,
        { every: this.o.everyMs },
        { name: 'reconcile', opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
      );
    });
    this.startWorker(async () => run(), (_job, err) => this.d.logger.warn({ err }, 'reconcile failed'));
  }

  /**
   * A scheduler made with another interval goes first. BullMQ (6.7) keeps the old one's phase (`offset`, up to the
   * old interval) when `every` changes, and whenever a tick runs late (a slow reconcile, a replica killed and
   * restarted) it aligns the next one to that phase: 1m changed to 1s left reconciles up to ~60 s apart.
   */
  private async dropStaleSchedule(): Promise<void> {
    const current = await this.queue.getJobScheduler(SCHEDULER_ID);
    if (current && (current.every !== this.o.everyMs || (current.offset ?? 0) >= this.o.everyMs)) await this.queue.removeJobScheduler(SCHEDULER_ID);
  }
}

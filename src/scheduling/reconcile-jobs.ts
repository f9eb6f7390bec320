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
    this.keepTrying(() =>
      this.queue.upsertJobScheduler(
        SCHEDULER_ID,
        { every: this.o.everyMs },
        { name: 'reconcile', opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
      ),
    );
    this.startWorker(async () => run(), (_job, err) => this.d.logger.warn({ err }, 'reconcile failed'));
  }
}

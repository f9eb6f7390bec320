// Fires the daily audit digest: one BullMQ job scheduler (a cron pattern in the policy's time zone) that every
// replica upserts under the same id, so there is one job per day whichever replicas run; each job goes to one
// worker. The job is retried with backoff (Slack away, another replica mid-post); the run itself claims the
// local date in Redis, so a retried or duplicated job never posts twice (src/store/digest-store.ts).
import type { Job } from 'bullmq';
import { digestCron } from '../domain/audit-digest.ts';
import type { DigestPolicy } from '../domain/policy.ts';
import { ScheduledQueue, type ScheduledQueueDeps } from './scheduled-queue.ts';

export const DIGEST_QUEUE = 'jit-jump-digest';
export const DIGEST_SCHEDULER_ID = 'audit-digest-daily';

/** When a job of the scheduler was due (BullMQ keeps it as `prevMillis`); a job added by hand: when it was added. */
export function firedAt(job: Pick<Job, 'opts' | 'timestamp'>): number {
  const prev = (job.opts as { prevMillis?: unknown }).prevMillis;
  return typeof prev === 'number' && Number.isFinite(prev) ? prev : job.timestamp;
}

export class DigestJobs extends ScheduledQueue {
  /** the schedule last upserted (or being upserted): a reload that leaves it as it is upserts nothing */
  private scheduled?: string;

  constructor(d: ScheduledQueueDeps) {
    super(DIGEST_QUEUE, d, 'digest');
  }

  async start(digest: DigestPolicy, run: (firedAt: number) => Promise<unknown>): Promise<void> {
    this.schedule(digest);
    this.startWorker(
      async (job) => run(firedAt(job)),
      (job, err) => this.d.logger.warn({ err: err.message, attempt: job?.attemptsMade }, 'audit digest not posted yet; retrying'),
    );
  }

  /** Upserts the scheduler for `digest`: at start, and when a reload changes audit.digest (the same id: replaced). */
  schedule(digest: DigestPolicy): void {
    const key = `${digest.at} ${digest.timezone}`;
    if (this.scheduled === key) return;
    this.scheduled = key;
    this.keepTrying(async () => {
      await this.queue.upsertJobScheduler(
        DIGEST_SCHEDULER_ID,
        { pattern: digestCron(digest.at), tz: digest.timezone },
        // ~2 h of retries: Slack or Redis away for a while still gets the day's digest out.
        { name: 'digest', opts: { attempts: 10, backoff: { type: 'exponential', delay: 15_000 }, removeOnComplete: { count: 30 }, removeOnFail: { count: 30 } } },
      );
      this.d.logger.info({ at: digest.at, timezone: digest.timezone }, 'audit digest scheduled');
    }, () => this.scheduled === key);
  }
}

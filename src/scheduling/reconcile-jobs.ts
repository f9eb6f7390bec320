// Runs the reconciler on every replica's behalf: one BullMQ job scheduler (upsertJobScheduler, BullMQ 6) makes
// one job per interval, and each job goes to exactly one worker, so only one replica reconciles per tick.
// Every replica upserts the same scheduler at start (idempotent; the interval in the policy wins).
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { QUEUE_PREFIX } from '../store/redis-keys.ts';
import { isRedisConnectionError } from '../store/redis-connection.ts';
import { withOnlyLogFields } from '../logger.ts';
import { RunningJobs } from './running-jobs.ts';

export const RECONCILE_QUEUE = 'jit-jump-reconcile';
const SCHEDULER_ID = 'reconcile-every-jump-host';

export class ReconcileJobs {
  private readonly queue: Queue;
  private worker?: Worker;
  private closed = false;
  private readonly running = new RunningJobs();

  constructor(private readonly d: { producer: Redis; workerConnection: () => Redis; logger: Logger; everyMs: number; prefix?: string }) {
    this.queue = new Queue(RECONCILE_QUEUE, { connection: d.producer, prefix: d.prefix ?? QUEUE_PREFIX });
    this.queue.on('error', (err) => d.logger[isRedisConnectionError(err) ? 'debug' : 'warn']({ err: err.message }, 'reconcile queue error'));
  }

  async start(run: () => Promise<unknown>): Promise<void> {
    // Redis may be away at start-up: keep trying in the background rather than fail the start.
    const upsert = async (): Promise<void> => {
      while (!this.closed) {
        try {
          await this.queue.upsertJobScheduler(
            SCHEDULER_ID,
            { every: this.d.everyMs },
            { name: 'reconcile', opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
          );
          return;
        } catch (err) {
          this.d.logger.warn({ err: (err as Error).message }, 'could not set up the reconcile schedule yet; retrying');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    void upsert();
    this.worker = new Worker(RECONCILE_QUEUE, this.running.track(async () => withOnlyLogFields({ job: 'reconcile' }, run)), {
      connection: this.d.workerConnection(),
      prefix: this.d.prefix ?? QUEUE_PREFIX,
      concurrency: 1,
    });
    this.worker.on('failed', (_job, err) => this.d.logger.warn({ err }, 'reconcile failed'));
    this.worker.on('error', (err) => this.d.logger[isRedisConnectionError(err) ? 'debug' : 'warn']({ err: err.message }, 'reconcile worker error'));
  }

  /** whether the worker takes jobs (for /readyz) */
  isRunning(): boolean {
    return this.worker?.isRunning() ?? false;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker?.close();
    await this.queue.close();
  }

  /** Shutdown's deadline: a reconcile still running goes back to the queue for another replica. */
  handBack(): Promise<string[]> {
    return this.running.handBack();
  }
}

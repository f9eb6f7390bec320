// What the job schedulers (reconcile, daily digest) share: a queue whose scheduler every replica upserts under one
// id, a worker taking one job at a time, retrying the upsert while Redis is away, and handing a running job back
// at shutdown's deadline.
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { QUEUE_PREFIX } from '../store/redis-keys.ts';
import { isRedisConnectionError } from '../store/redis-connection.ts';
import { withOnlyLogFields } from '../logger.ts';
import { RunningJobs } from './running-jobs.ts';

export interface ScheduledQueueDeps {
  producer: Redis;
  workerConnection: () => Redis;
  logger: Logger;
  prefix?: string;
}

export class ScheduledQueue {
  protected readonly queue: Queue;
  private worker?: Worker;
  protected closed = false;
  private readonly running = new RunningJobs();

  constructor(
    private readonly name: string,
    protected readonly d: ScheduledQueueDeps,
    private readonly what: string,
  ) {
    this.queue = new Queue(name, { connection: d.producer, prefix: d.prefix ?? QUEUE_PREFIX });
    // An outage is logged once by the broker (Redis unreachable / answers again), not by every queue.
    this.queue.on('error', (err) => d.logger[isRedisConnectionError(err) ? 'debug' : 'warn']({ err: err.message }, `${what} queue error`));
  }

  /** Runs `upsert` until it succeeds, in the background (Redis may be away at start-up); stops on close or when `still()` turns false. */
  protected keepTrying(upsert: () => Promise<unknown>, still: () => boolean = () => true): void {
    void (async () => {
      while (!this.closed && still()) {
        try {
          await upsert();
          return;
        } catch (err) {
          this.d.logger.warn({ err: (err as Error).message }, `could not set up the ${this.what} schedule yet; retrying`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  protected startWorker(processor: (job: Job) => Promise<unknown>, failed: (job: Job | undefined, err: Error) => void): void {
    // Every line a job writes names it.
    this.worker = new Worker(this.name, this.running.track((job: Job) => withOnlyLogFields({ job: this.what }, () => processor(job))), {
      connection: this.d.workerConnection(),
      prefix: this.d.prefix ?? QUEUE_PREFIX,
      concurrency: 1,
    });
    this.worker.on('failed', failed);
    this.worker.on('error', (err) => this.d.logger[isRedisConnectionError(err) ? 'debug' : 'warn']({ err: err.message }, `${this.what} worker error`));
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

  /** Shutdown's deadline: a job still running goes back to the queue for another replica. */
  handBack(): Promise<string[]> {
    return this.running.handBack();
  }
}

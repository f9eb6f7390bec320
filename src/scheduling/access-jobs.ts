// Delayed work in BullMQ: revoke a grant at expiry, warn before expiry, time out undecided requests.
// Job data holds request ids only. Handlers are idempotent: each checks the state atomically and does nothing
// if the request has moved on, so a late, duplicated or retried job is harmless.
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AccessJobName } from '../service/ports.ts';
import { queuePrefix } from '../store/redis-keys.ts';
import { isRedisConnectionError } from '../store/redis-connection.ts';
import { withOnlyLogFields } from '../logger.ts';
import { RunningJobs } from './running-jobs.ts';


export interface AccessJobHandlers {
  /** `grantEnd`: the end the job was scheduled for; returns the grant's new end if an extension moved it */
  revoke(requestId: string, grantEnd?: number): Promise<number | undefined | void>;
  expiryWarning(requestId: string, grantEnd?: number): Promise<void>;
  timeout(requestId: string): Promise<void>;
}

interface JobData {
  requestId: string;
  /** the grant's end a revoke or warning job is for (absent in jobs of earlier versions) */
  grantEnd?: number;
}

export const QUEUE_NAME = 'jit-jump';

const JOB_ID_PREFIX: Record<AccessJobName, string> = { revoke: 'revoke', 'expiry-warning': 'warn', timeout: 'timeout' };

/**
 * A revoke job is one per grant (it waits again when the grant's end moves); a warning is one per end, so an
 * extended grant is warned again before its new end (`grantEnd`).
 */
export function jobId(name: AccessJobName, requestId: string, grantEnd?: number): string {
  const id = `${JOB_ID_PREFIX[name]}-${requestId}`;
  return name === 'expiry-warning' && grantEnd !== undefined ? `${id}-${grantEnd}` : id;
}

export class AccessJobs {
  private readonly queue: Queue;
  private worker?: Worker;
  private readonly running = new RunningJobs();

  constructor(
    private readonly deps: { producer: Redis; workerConnection: () => Redis; logger: Logger; prefix?: string },
  ) {
    this.queue = new Queue(QUEUE_NAME, {
      connection: deps.producer,
      prefix: queuePrefix(deps.prefix),
      defaultJobOptions: {
        attempts: 8,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 5000 },
      },
    });
    // Without a listener an 'error' event (Redis gone for a moment) would crash the process.
    this.queue.on('error', (err) => deps.logger[isRedisConnectionError(err) ? 'debug' : 'warn']({ err: err.message }, 'job queue error'));
  }

  /** Adds (or keeps, if it already exists) the job that runs `name` for this request at `at`. */
  async schedule(name: AccessJobName, requestId: string, at: number, now: number, grantEnd?: number): Promise<void> {
    const data: JobData = grantEnd === undefined ? { requestId } : { requestId, grantEnd };
    await this.queue.add(name, data, { jobId: jobId(name, requestId, grantEnd), delay: Math.max(0, at - now) });
  }

  /** Best effort: a job that stays behind finds the request in another state and does nothing. */
  async cancel(name: AccessJobName, requestId: string): Promise<void> {
    try {
      await this.queue.remove(jobId(name, requestId));
    } catch (err) {
      this.deps.logger.debug({ err, requestId, job: name }, 'could not remove job (it is running or gone)');
    }
  }

  startWorker(handlers: AccessJobHandlers, concurrency = 8): void {
    this.worker = new Worker(
      QUEUE_NAME,
      this.running.track((job: Job<JobData>, token?: string) => withOnlyLogFields({ requestId: job.data.requestId, job: job.name }, () => this.run(handlers, job, token))),
      { connection: this.deps.workerConnection(), prefix: queuePrefix(this.deps.prefix), concurrency },
    );
    this.worker.on('failed', (job, err) => this.deps.logger.warn({ err, job: job?.name, jobId: job?.id }, 'job failed'));
    this.worker.on('error', (err) => this.deps.logger[isRedisConnectionError(err) ? 'debug' : 'error']({ err }, 'job worker error'));
  }

  private async run(handlers: AccessJobHandlers, job: Job<JobData>, token?: string): Promise<void> {
    const { requestId: id, grantEnd } = job.data;
    switch (job.name as AccessJobName) {
      case 'revoke': {
        const movedTo = await handlers.revoke(id, grantEnd);
        if (typeof movedTo !== 'number') return;
        // Extended: the same job waits for the new end (BullMQ's pattern for a job that delays itself).
        await job.updateData({ requestId: id, grantEnd: movedTo });
        await job.moveToDelayed(movedTo, token);
        throw new DelayedError();
      }
      case 'expiry-warning':
        return handlers.expiryWarning(id, grantEnd);
      case 'timeout':
        return handlers.timeout(id);
      default:
        this.deps.logger.warn({ job: job.name }, 'unknown job ignored');
    }
  }

  /** whether the worker takes jobs (for /readyz) */
  isRunning(): boolean {
    return this.worker?.isRunning() ?? false;
  }

  /** Fetches no more jobs and waits for the running ones (see handBack), then closes the connections it opened. */
  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }

  /** Shutdown's deadline: jobs still running go back to the queue for another replica; returns their ids. */
  handBack(): Promise<string[]> {
    return this.running.handBack();
  }
}

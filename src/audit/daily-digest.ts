// The daily digest run (a BullMQ job scheduler fires it on every replica's behalf; src/scheduling/digest-jobs.ts):
// one post per local date across replicas, crash-safe (see src/store/digest-store.ts for the claim). The
// window runs from the previous digest's end to now (24 h on the first day). A jump server that cannot be read
// is named in the digest; the digest still posts.
import type { Logger } from 'pino';
import { localDate, summarizeDigest, type AuditDigest } from '../domain/audit-digest.ts';
import type { Clock } from '../domain/clock.ts';
import type { Policy } from '../domain/policy.ts';
import type { StandingAccessEntry } from '../domain/standing-access.ts';
import type { DigestStore } from '../store/digest-store.ts';

/** Where the digest goes (the audit channel); Slack implements it. Declared here so audit depends on no adapter. */
export interface DigestPoster {
  postDigest(digest: AuditDigest, date: string): Promise<void>;
  /** Whether the digest of `date` is in the audit channel already (a run died after posting, before marking). */
  digestPosted(date: string, since: number): Promise<boolean>;
}

/** Another replica is posting this date's digest: the job is retried later, and then finds it posted. */
export class DigestBusy extends Error {
  constructor(date: string) {
    super(`the digest of ${date} is being posted by another replica`);
    this.name = 'DigestBusy';
  }
}

export type DigestOutcome = 'posted' | 'already-posted' | 'found-in-slack';

const DAY_MS = 86_400_000;

export class DailyDigest {
  constructor(
    private readonly d: {
      store: DigestStore;
      poster: DigestPoster;
      /** read at each run: a reload applies to the next digest */
      policy: Policy;
      /** each jump server's standing keys; never throws for one server */
      standing: (policy: Policy) => Promise<StandingAccessEntry[]>;
      clock: Clock;
      logger: Logger;
      /** longer than one whole run (reading every jump server, posting) */
      leaseMs?: number;
    },
  ) {}

  /**
   * `firedAt`: when the schedule fired; its local date is the digest's, however late the job runs. The date is
   * read in the time zone of the policy running now: a reload that moves the zone far enough may give
   * one extra digest, or skip one whose local date was posted already (its events go into the next digest).
   */
  async run(firedAt: number): Promise<DigestOutcome> {
    const { store, poster, policy, logger } = this.d;
    const date = localDate(firedAt, policy.audit.digest.timezone);
    const claim = await store.claim(date, this.d.leaseMs ?? 120_000);
    if (claim.status === 'posted') return 'already-posted';
    if (claim.status === 'busy') throw new DigestBusy(date);
    const token = claim.token;
    const now = this.d.clock.now();
    const since = (await store.lastWindowEnd()) ?? now - DAY_MS;
    try {
      if (claim.status === 'retry' && (await poster.digestPosted(date, since))) {
        await store.posted(date, token, now);
        logger.info({ date }, 'audit digest: found in the audit channel already (a run died after posting it)');
        return 'found-in-slack';
      }
      const digest = await this.summarize(since, now);
      await poster.postDigest(digest, date);
      await store.posted(date, token, now);
      logger.info({ date, since, until: now, chainHead: digest.chainHead }, 'audit digest posted');
      return 'posted';
    } catch (err) {
      await store.release(date, token).catch(() => undefined);
      throw err;
    }
  }

  private async summarize(since: number, until: number): Promise<AuditDigest> {
    const { policy } = this.d;
    const jumpHosts = policy.jumpHosts.map((j) => j.name);
    const read = await this.d.store.read(since, until, jumpHosts);
    const standing = await this.d.standing(policy).catch((err: unknown) =>
      jumpHosts.map((jumpHost) => ({ jumpHost, keys: [], error: err instanceof Error ? err.message : String(err) })),
    );
    const sshdLogJumpHosts = new Set(policy.jumpHosts.filter((j) => j.sshdLog).map((j) => j.name));
    return summarizeDigest({ since, until, ...read, sshdLogJumpHosts, standing });
  }
}

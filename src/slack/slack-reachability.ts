// Whether Slack accepts the bot token now, for /readyz: auth.test at start and then every minute, the last
// answer kept (a probe never waits for Slack).
import type { WebClient } from '@slack/web-api';

export class SlackReachability {
  private problem: string | undefined = 'not asked yet';
  private timer?: NodeJS.Timeout;

  constructor(private readonly client: Pick<WebClient, 'auth'>, private readonly everyMs = 60_000) {}

  start(): void {
    const ask = () =>
      this.client.auth.test().then(
        () => (this.problem = undefined),
        (err: unknown) => {
          const code = (err as { data?: { error?: unknown } }).data?.error;
          this.problem = typeof code === 'string' ? `Slack refused the bot token: ${code}` : `Slack unreachable: ${(err as Error).message}`;
        },
      );
    void ask();
    this.timer = setInterval(() => void ask(), this.everyMs);
    this.timer.unref();
  }

  /** undefined when the last auth.test succeeded, else what went wrong */
  status(): string | undefined {
    return this.problem;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// Whether Slack accepts the bot token, for start-up and /readyz. At start one auth.test decides: a token Slack
// refuses is permanent (the start stops with one line naming the fix); Slack unreachable or failing is transient
// (one line saying it is retried, one when it answers again). Then it is asked every minute, every 5 s while
// it fails; a probe reads the last answer and never waits for Slack.
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { EnvError } from '../config/env.ts';

/** Slack's answers that no retry changes: the token itself is wrong. */
const REFUSED_TOKEN = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type', 'team_disabled', 'ekm_access_denied']);

/** An EnvError: the start stops with its one line, as for any other wrong variable. */
export class SlackTokenRefused extends EnvError {
  constructor(code: string) {
    super(`SLACK_BOT_TOKEN: Slack refused the bot token (${code}). Copy the app's "Bot User OAuth Token" (xoxb-…) from OAuth & Permissions (reinstall the app to the workspace if it is missing)`);
    this.name = 'SlackTokenRefused';
  }
}

type Answer = { ok: true } | { ok: false; refused: boolean; problem: string };

export class SlackReachability {
  private problem: string | undefined = 'not asked yet';
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: Pick<WebClient, 'auth'>,
    private readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly everyMs = 60_000,
    private readonly whileDownMs = 5_000,
  ) {}

  /** The first auth.test: throws SlackTokenRefused for a refused token; otherwise starts asking periodically. */
  async start(): Promise<void> {
    const first = await this.ask();
    if (!first.ok && first.refused) throw new SlackTokenRefused(first.problem);
    this.took(first, true);
    this.schedule();
  }

  /** undefined when the last auth.test succeeded, else what went wrong */
  status(): string | undefined {
    return this.problem;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async ask(): Promise<Answer> {
    try {
      await this.client.auth.test();
      return { ok: true };
    } catch (err) {
      const code = (err as { data?: { error?: unknown } }).data?.error;
      if (typeof code === 'string') return { ok: false, refused: REFUSED_TOKEN.has(code), problem: code };
      return { ok: false, refused: false, problem: (err as Error).message };
    }
  }

  /** Records an answer, logging only changes: one line when Slack goes away, one when it is back. */
  private took(a: Answer, first = false): void {
    const wasFine = this.problem === undefined;
    if (a.ok) {
      if (first) this.logger.info('Slack confirmed the bot token (auth.test)');
      else if (!wasFine) this.logger.info('Slack answers again (auth.test)');
      this.problem = undefined;
      return;
    }
    this.problem = a.refused ? `Slack refused the bot token: ${a.problem}` : `Slack unreachable: ${a.problem}`;
    if (wasFine || first) this.logger[a.refused ? 'error' : 'warn']({ problem: a.problem }, `${this.problem}; asking again every ${this.whileDownMs / 1000} s (requests are refused until it answers)`);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      this.took(await this.ask());
      this.schedule();
    }, this.problem === undefined ? this.everyMs : this.whileDownMs);
    this.timer.unref();
  }
}

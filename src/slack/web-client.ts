import { LogLevel, WebClient, type Logger as SlackLogger, type WebClientOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import { keptAliveFetch } from './kept-alive-fetch.ts';

/** Slack's libraries (Bolt, the Web API client) log through pino: one JSON log, no console "[WARN]" lines. */
export function slackLogger(logger: Logger, component: string): SlackLogger {
  const child = logger.child({ component });
  let level = LogLevel.INFO;
  return {
    debug: (...m: unknown[]) => child.debug(m.map(String).join(' ')),
    info: (...m: unknown[]) => child.info(m.map(String).join(' ')),
    warn: (...m: unknown[]) => child.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => child.error(m.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** One transport for every Web API client of the process: its kept-alive connections are shared. */
const transport = keptAliveFetch();

/**
 * Web API client settings shared by Bolt and the notifier (their calls go over kept-alive node:http(s)
 * connections: kept-alive-fetch.ts). The default retry policy retries for ~30 minutes;
 * a chat-ops reply that late is useless, so give up after a few seconds and let the caller report it.
 * A 429 is retried after the Retry-After Slack gives (rejectRateLimitedCalls stays false): each counts as one
 * of the retries, so two rate-limited answers in a row are waited out and the third try goes through.
 */
export function slackClientOptions(apiUrl: string | undefined, logger?: Logger): WebClientOptions {
  return { slackApiUrl: apiUrl, retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 }, timeout: 10_000, fetch: transport, ...(logger ? { logger: slackLogger(logger, 'slack-web-api') } : {}) };
}

/** What a refused call aimed at, for the log: a channel, a user, a user group (never a token or a text). */
function target(options: Record<string, unknown> | undefined): string {
  for (const key of ['channel', 'users', 'user', 'user_id', 'usergroup'] as const) {
    const v = options?.[key];
    if (typeof v === 'string' && v) return ` (${key} ${v.slice(0, 80)})`;
  }
  return '';
}

const MEANING: Record<string, string> = {
  not_authed: 'no token was sent',
  invalid_auth: 'Slack refused the bot token',
  account_inactive: 'the bot token belongs to a deleted app or workspace',
  token_revoked: 'the bot token was revoked',
  channel_not_found: 'no such channel, or the app is not in it',
  not_in_channel: 'the app is not a member of the channel',
  is_archived: 'the channel is archived',
  not_enabled: 'the app has no Home tab: turn on App Home → Home Tab in the app settings',
};

/**
 * Slack's own error says only the code ("An API error occurred: channel_not_found"). A log line should say
 * which call, for which channel, and for missing_scope which scope the app must be given.
 */
export function explainSlackError(err: unknown, method: string, options?: Record<string, unknown>): void {
  const data = (err as { code?: string; data?: { error?: unknown; needed?: unknown; provided?: unknown } }).data;
  if ((err as { code?: string }).code !== 'slack_webapi_platform_error' || typeof data?.error !== 'string' || !(err instanceof Error)) return;
  const code = data.error;
  const why =
    code === 'missing_scope'
      ? `missing_scope: the app needs the scope ${String(data.needed ?? '?')} (it has: ${String(data.provided ?? 'none')})`
      : MEANING[code]
        ? `${code}: ${MEANING[code]}`
        : code;
  err.message = `Slack ${method}${target(options)} failed: ${why}`;
}

/** The notifier's client: the Web API client whose failures name the call, channel and missing scope. */
class ExplainingWebClient extends WebClient {
  constructor(
    token: string,
    options: WebClientOptions,
    private readonly failed?: (method: string, error: string) => void,
  ) {
    super(token, options);
  }

  override async apiCall(method: string, options?: Record<string, unknown>) {
    try {
      return await super.apiCall(method, options);
    } catch (err) {
      this.failed?.(method, slackErrorCode(err));
      explainSlackError(err, method, options);
      throw err;
    }
  }
}

/** Slack's error code (`channel_not_found`…), or what kind of failure it was when Slack gave none. */
function slackErrorCode(err: unknown): string {
  const e = err as { code?: unknown; data?: { error?: unknown } };
  if (typeof e.data?.error === 'string') return e.data.error.slice(0, 60);
  return typeof e.code === 'string' ? e.code.replace(/^slack_webapi_/, '') : 'unknown';
}

/** `failed`: told of every call that failed after its retries (the metrics count them); `logger`: where the
 *  client's own warnings go (else Slack's console logger). */
export function createWebClient(token: string, apiUrl: string | undefined, o: { logger?: Logger; failed?: (method: string, error: string) => void } = {}): WebClient {
  return new ExplainingWebClient(token, slackClientOptions(apiUrl, o.logger), o.failed);
}

/**
 * Opens a form for the trigger of a click or command (Slack opens one only for it, once, within 3 s): false if
 * Slack did not, logged with `what` and `context`, so the caller can tell the person to try again.
 */
export async function openForm(
  client: Pick<WebClient, 'views'>,
  triggerId: string,
  view: unknown,
  log: { warn(obj: object, msg: string): void },
  what: string,
  context: object = {},
): Promise<boolean> {
  try {
    await client.views.open({ trigger_id: triggerId, view: view as never });
    return true;
  } catch (err) {
    explainSlackError(err, 'views.open');
    log.warn({ err, ...context }, `Slack did not open the ${what}`);
    return false;
  }
}

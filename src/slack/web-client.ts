import { WebClient, type WebClientOptions } from '@slack/web-api';

/**
 * Web API client settings shared by Bolt and the notifier. The default retry policy retries for ~30 minutes;
 * a chat-ops reply that late is useless, so give up after a few seconds and let the caller report it.
 */
export function slackClientOptions(apiUrl: string | undefined): WebClientOptions {
  return { slackApiUrl: apiUrl, retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 }, timeout: 10_000 };
}

export function createWebClient(token: string, apiUrl: string | undefined): WebClient {
  return new WebClient(token, slackClientOptions(apiUrl));
}

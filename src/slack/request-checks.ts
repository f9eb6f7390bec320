// Checks on what arrives from Slack beyond Bolt's signature check. Pure functions, testable without a server.

/** Slack's replay window: a signed request older than this, or this far in the future, is refused. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/**
 * Bolt refuses a timestamp more than five minutes old but not one in the future, and a future timestamp
 * would let a captured request be replayed for longer. Returns why the header is refused, or undefined.
 */
export function checkRequestTimestamp(header: string | string[] | undefined, nowMs: number): string | undefined {
  if (typeof header !== 'string' || !/^\d{1,12}$/.test(header)) return 'missing or malformed x-slack-request-timestamp';
  const skew = Number(header) - Math.floor(nowMs / 1000);
  if (skew > MAX_CLOCK_SKEW_SECONDS) return `x-slack-request-timestamp is ${skew}s in the future`;
  if (skew < -MAX_CLOCK_SKEW_SECONDS) return `x-slack-request-timestamp is ${-skew}s old`;
  return undefined;
}

/** The workspace a request comes from, wherever the payload type keeps it. */
export function teamOf(body: unknown): string | undefined {
  const b = body as { team_id?: unknown; team?: { id?: unknown }; user?: { team_id?: unknown }; view?: { team_id?: unknown } };
  for (const t of [b?.team_id, b?.team?.id, b?.user?.team_id, b?.view?.team_id]) if (typeof t === 'string' && t !== '') return t;
  return undefined;
}

/**
 * Whether a response_url may be used: https on Slack's hooks host, or (tests, sandbox) the same origin as the
 * configured SLACK_API_URL. Anything else could make the broker post a reply, or a token, to a stranger.
 */
export function isTrustedResponseUrl(url: unknown, apiUrl?: string): boolean {
  if (typeof url !== 'string') return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:' && u.hostname === 'hooks.slack.com' && (u.port === '' || u.port === '443')) return true;
  if (!apiUrl) return false;
  try {
    return u.origin === new URL(apiUrl).origin;
  } catch {
    return false;
  }
}

/** Every response_url a payload carries (slash commands and actions have one; view submissions a list). */
export function responseUrlsOf(body: unknown): unknown[] {
  const b = body as { response_url?: unknown; response_urls?: unknown };
  const out: unknown[] = [];
  if (b?.response_url !== undefined) out.push(b.response_url);
  if (Array.isArray(b?.response_urls)) for (const r of b.response_urls) out.push((r as { response_url?: unknown })?.response_url);
  return out;
}

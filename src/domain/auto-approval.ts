// Auto-approval rules: routine access that needs no human. A rule names who (users or user groups), which hosts
// (names or label selectors), how long at most, and when (local hours and weekdays in a time zone). Which rules
// could grant a request is pure (host, duration, time); whether the person is among a rule's users needs the
// user groups expanded (the service does that), so `matchingRules` returns the candidates in policy order.
import type { AutoApproveRule, HostPolicy, Policy } from './policy.ts';

/** The approver recorded for auto-approved and break-glass grants (never a Slack user id). */
export const AUTO_APPROVER = 'jit-jump';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** "08:00-18:00" → minutes since midnight [start, end); undefined if not that shape. */
export function parseHours(text: string): { start: number; end: number } | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!m) return undefined;
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  return end > 24 * 60 || start === end ? undefined : { start, end };
}

/** The weekday and minute of the day at `now` in `timeZone` (IANA name; Node's ICU knows them all). */
export function localTime(now: number, timeZone: string): { day: Weekday; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return { day: get('weekday').toLowerCase().slice(0, 3) as Weekday, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Whether `now` falls within the rule's hours and days, in its time zone (an overnight span such as 22:00-06:00 too). */
export function withinWindow(rule: Pick<AutoApproveRule, 'hours' | 'days' | 'timezone'>, now: number): boolean {
  const { day, minute } = localTime(now, rule.timezone);
  if (rule.days && !rule.days.includes(day)) return false;
  const hours = rule.hours ? parseHours(rule.hours) : undefined;
  if (!hours) return true;
  return hours.start < hours.end ? minute >= hours.start && minute < hours.end : minute >= hours.start || minute < hours.end;
}

/** Whether the rule names this host, or a label selector it matches. */
export function coversHost(rule: AutoApproveRule, host: HostPolicy): boolean {
  return rule.hosts.some((h) => (typeof h === 'string' ? h === host.name : Object.entries(h).every(([k, v]) => host.labels?.[k] === v)));
}

/** Indexes of the rules that could grant this request now (the person's membership is checked by the caller). */
export function matchingRules(policy: Policy, host: HostPolicy, durationMs: number, now: number): number[] {
  return policy.autoApprove.flatMap((rule, i) => (coversHost(rule, host) && durationMs <= rule.maxDuration && withinWindow(rule, now) ? [i] : []));
}

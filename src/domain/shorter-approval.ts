// Shorter approvals: an owner may approve a request for less time than was asked (a choice next to Approve),
// never for more and never under minDuration. With several approvals needed the grant lasts the shortest time
// any approver chose (the store keeps that running minimum in the request, atomically with the approval).
import { formatDuration, parseDuration } from './duration.ts';
import type { AccessRequest } from './request-state.ts';
import { ok, refuse, type Result } from './result.ts';

/** The standard durations offered below the asked one (ms). */
export const SHORTER_CHOICES_MS = [15 * 60_000, 30 * 60_000, 3_600_000, 2 * 3_600_000, 4 * 3_600_000, 8 * 3_600_000, 12 * 3_600_000, 86_400_000] as const;

/** What an approver may choose: the asked duration first, then the standard ones below it and ≥ `minMs`, longest first. */
export function approvalChoices(askedMs: number, minMs: number): number[] {
  const shorter = SHORTER_CHOICES_MS.filter((ms) => ms < askedMs && ms >= minMs).reverse();
  return [askedMs, ...shorter];
}

/** How long the grant lasts (or will, once approved): the shortest any approver chose, else what was asked. */
export function grantDurationMs(r: Pick<AccessRequest, 'durationMs' | 'approvedMs'>): number {
  return r.approvedMs !== undefined && r.approvedMs < r.durationMs ? r.approvedMs : r.durationMs;
}

/** "approved for 30m of 2h asked (shortened by U1)" (audit details; the store's Lua writes the same words), or
 *  undefined for a request approved as asked. */
export function shortenedDetail(r: Pick<AccessRequest, 'durationMs' | 'approvedMs' | 'shortenedBy'>): string | undefined {
  const ms = grantDurationMs(r);
  return ms < r.durationMs ? `approved for ${formatDuration(ms)} of ${formatDuration(r.durationMs)} asked (shortened by ${r.shortenedBy})` : undefined;
}

export type ShorterRefusalCode = 'approve-bad-duration' | 'approve-longer-than-asked' | 'approve-under-min' | 'approve-shorter-extension';

/**
 * The duration an approver chose (`text`, as offered: "30m"), checked against the request: undefined (as
 * asked) when none was chosen or the asked one was; else at most the asked duration and at least `minMs`.
 * An extension is approved as asked (no shorter choice is offered for one).
 */
export function checkApprovedDuration(
  r: Pick<AccessRequest, 'durationMs' | 'extends'>,
  text: string | undefined,
  minMs: number,
): Result<number | undefined, ShorterRefusalCode> {
  if (text === undefined || text.trim() === '') return ok(undefined);
  const ms = parseDuration(text);
  if (ms === undefined) return refuse('approve-bad-duration', `not a duration: "${text.slice(0, 20)}"`, { text: text.slice(0, 20) });
  if (ms === r.durationMs) return ok(undefined);
  if (ms > r.durationMs)
    return refuse('approve-longer-than-asked', `approving for ${formatDuration(ms)}, over the ${formatDuration(r.durationMs)} asked`, { askedMs: r.durationMs, chosenMs: ms });
  if (r.extends !== undefined) return refuse('approve-shorter-extension', 'an extension is approved as asked', { askedMs: r.durationMs });
  if (ms < minMs)
    return refuse('approve-under-min', `approving for ${formatDuration(ms)}, under minDuration ${formatDuration(minMs)}`, { minMs, chosenMs: ms });
  return ok(ms);
}

// Durations as people type them in Slack: "90s", "30m", "2h", "1h30m", "1d".
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^(?:\d+[smhd])+$/;
const PART = /(\d+)([smhd])/g;

/** Parses a duration; returns undefined for anything that is not one. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (!WHOLE.test(t)) return undefined;
  let total = 0;
  for (const [, n, unit] of t.matchAll(PART)) {
    const value = Number(n);
    if (!Number.isSafeInteger(value)) return undefined;
    total += value * UNIT_MS[unit!]!;
  }
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/**
 * Whether a word is meant as a duration: "2h", "1h30m", and also "2x", "1.5h", "2:30", so that such a typo
 * is refused with a hint instead of silently becoming the reason of a request for the default duration.
 */
export function looksLikeDuration(text: string): boolean {
  return /^\d[a-z0-9.,:]*$/i.test(text.trim());
}

/** Formats milliseconds the way parseDuration reads them, largest units first ("1h30m"). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out || '0s';
}

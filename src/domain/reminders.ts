// When an undecided request reminds its owners: first after `remindAfter`, then at doubling intervals
// (15m, 45m, 1h45m, … after it was made), never at or past its approval timeout; and once it has waited
// `escalateAfter`, every reminder (and one at that moment) also goes to `escalateTo`.

/** How many reminders are due after waiting `waitedMs` (0: none yet). Reminder k is due at remindAfter·(2^k − 1). */
export function remindersDue(waitedMs: number, o: { remindAfter: number; approvalTimeout: number }): number {
  if (o.remindAfter <= 0 || waitedMs < o.remindAfter) return 0;
  let k = 0;
  while (o.remindAfter * (2 ** (k + 1) - 1) <= Math.min(waitedMs, o.approvalTimeout - 1) && k < 60) k++;
  return k;
}

/** When reminder `k` (1-based) is due, after the request was made. */
export function reminderAfter(k: number, remindAfter: number): number {
  return remindAfter * (2 ** k - 1);
}

/** Whether the request has waited long enough to go to `escalateTo` as well (before its time-out). */
export function escalationDue(waitedMs: number, o: { escalateAfter?: number; approvalTimeout: number }): boolean {
  return o.escalateAfter !== undefined && waitedMs >= o.escalateAfter && o.escalateAfter < o.approvalTimeout;
}

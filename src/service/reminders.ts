// Reminders of undecided requests: run by the reconciler for every request pending longer than the first
// reminder (or the escalation) is due. Each reminder is claimed once across replicas before it is sent, so a
// reconcile that runs twice, or on two replicas, reminds once. Reminders change nothing about the request.
import { escalationDue, remindersDue } from '../domain/reminders.ts';
import type { ServiceDeps } from './ports.ts';

/** Sends the reminder (and the escalation) due now for this request, if still undecided and not yet sent. */
export async function remindUndecided(d: ServiceDeps, requestId: string): Promise<void> {
  const req = await d.requests.get(requestId);
  if (!req || req.state !== 'pending' || !d.notifier.reminder) return;
  const { remindAfter, approvalTimeout, escalateAfter, escalateTo } = d.policy.defaults;
  const waited = d.clock.now() - req.createdAt;
  if (waited >= approvalTimeout) return; // the time-out is due, not a reminder
  const k = remindersDue(waited, { remindAfter, approvalTimeout });
  const escalate = escalationDue(waited, { escalateAfter, approvalTimeout });
  // Claims outlive the request's wait, so a claim never expires while the request can still be reminded.
  const ttl = approvalTimeout + 3_600_000;
  const escalationNow = escalate && (await d.requests.claimReminder(req.id, 'escalation', ttl));
  const reminderNow = k > 0 && (await d.requests.claimReminder(req.id, String(k), ttl));
  if (!reminderNow && !escalationNow) return;
  const host = d.policy.hosts.find((h) => h.name === req.host);
  const groups = [...(host?.owners ?? []), ...(escalate ? (escalateTo ?? []) : [])];
  const expanded = await d.owners.expand(groups);
  if (!expanded.ok) d.logger.warn({ requestId, detail: expanded.message }, 'reminder: a user group could not be expanded; reminding the named users only');
  const to = [...(expanded.ok ? expanded.value : groups.filter((g) => g.startsWith('U')))].filter((u) => u !== req.requester && !req.approvers.includes(u));
  if (to.length) await d.notifier.reminder(req, waited, to, escalate);
}

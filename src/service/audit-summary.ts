// `/jump audit [host|@person] [since]`: a summary of the stored audit trail. The people listed in `auditors`
// (user groups expanded) read every host; an owner reads the hosts they own only; anyone else is refused and
// audited. A user group that cannot be listed counts against the reader (fail closed).
import { sinceAt } from '../domain/audit-since.ts';
import { AuditTally, completeFromRecords, MAX_GRANTS_SHOWN, type AuditScope } from '../domain/audit-summary.ts';
import { authorize } from '../domain/authorization.ts';
import type { JumpCommand } from '../domain/command.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { ok, refuse, type AuthorizationRefusals, type Result } from '../domain/result.ts';
import { hostsOwnedBy } from './list.ts';
import { membershipOf } from './membership.ts';
import type { GrantUse, ServiceDeps } from './ports.ts';
import { auditCallerRefusal } from './refusals.ts';
import { refusedReply, type Outcome } from './replies.ts';

type AuditAsked = Extract<JumpCommand, { kind: 'audit' }>;

export async function auditSummary(d: ServiceDeps, user: string, asked: AuditAsked): Promise<Outcome> {
  const now = d.clock.now();
  const sinceMs = sinceAt(asked.since, now);
  if (sinceMs > now) return { reply: refusedReply({ code: 'audit-since-future', params: { at: sinceMs } }) };
  const access = await readerScope(d, user, asked);
  if (!access.ok) {
    await auditCallerRefusal(d, user, 'audit', access.code, access.message);
    return { reply: refusedReply(access) };
  }
  if (!d.auditTrail) throw new Error('no audit trail to read (AccessService built without auditTrail)');
  const tally = new AuditTally(access.value.scope);
  for await (const e of d.auditTrail.events(sinceMs, now)) tally.add(e);
  const counted = tally.summary();
  const records = await d.requests.getMany(counted.grants.map((g) => g.id));
  const summary = completeFromRecords(counted, new Map(records.map((r) => [r.id, r])));
  const shown = new Set(summary.grants.slice(0, MAX_GRANTS_SHOWN).map((g) => g.id));
  const usage = await usageOf(d, records.filter((r) => shown.has(r.id)), now);
  const { ownHosts } = access.value;
  return {
    reply: {
      kind: 'audit-summary',
      ...(asked.host !== undefined ? { host: asked.host } : {}),
      ...(asked.person !== undefined ? { person: asked.person } : {}),
      ...(ownHosts ? { ownHosts } : {}),
      sinceMs,
      untilMs: now,
      summary,
      usage,
    },
  };
}

/** Whether the person may use `/jump audit` at all (`/jump help` lists it for them only). */
export async function mayAudit(d: Pick<ServiceDeps, 'policy' | 'owners'>, user: string): Promise<boolean> {
  const auditor = (await membershipOf(d, user, [d.policy.auditors]))(d.policy.auditors);
  return auditor === true || (await hostsOwnedBy(d, user)).size > 0;
}

/** What the person may read: everything (an auditor), or their own hosts; `ownHosts` set for an owner. */
async function readerScope(
  d: Pick<ServiceDeps, 'policy' | 'owners'>,
  user: string,
  asked: AuditAsked,
): Promise<Result<{ scope: AuditScope; ownHosts?: string[] }, keyof AuthorizationRefusals>> {
  const { auditors } = d.policy;
  const auditor = (await membershipOf(d, user, [auditors]))(auditors);
  if (auditor === undefined) return refuse('auditors-unavailable', 'a user group among auditors cannot be listed now', {});
  const person = asked.person !== undefined ? { person: asked.person } : {};
  if (auditor) {
    const allowed = authorize('audit', { actor: user, auditor: true });
    return allowed.ok ? ok({ scope: { ...person, ...(asked.host !== undefined ? { hosts: new Set([asked.host]) } : {}) } }) : allowed;
  }
  const owned = await hostsOwnedBy(d, user);
  // An owner of the host asked about, or (no host named) of any host; the scope is then their hosts only.
  const owner = asked.host !== undefined ? owned.has(asked.host) : owned.size > 0;
  const allowed = authorize('audit', { actor: user, owners: new Set(owner ? [user] : []), ...(asked.host !== undefined ? { host: asked.host } : {}) });
  if (!allowed.ok) return allowed;
  const hosts = asked.host !== undefined ? [asked.host] : [...owned].sort();
  return ok({ scope: { ...person, hosts: new Set(hosts) }, ownHosts: [...owned].sort() });
}

/** How each grant was used, where its jump server's log is read; a failure to read one leaves it unknown. */
async function usageOf(d: Pick<ServiceDeps, 'usage' | 'logger'>, grants: readonly AccessRequest[], now: number): Promise<Record<string, GrantUse>> {
  const measure = d.usage?.measure?.bind(d.usage);
  if (!measure) return {};
  const out: Record<string, GrantUse> = {};
  for (const g of grants) {
    try {
      const use = await measure(g, now);
      if (use) out[g.id] = use;
    } catch (err) {
      d.logger.warn({ err, requestId: g.id }, '/jump audit: could not read how the grant was used');
    }
  }
  return out;
}

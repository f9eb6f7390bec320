// A new policy read while the broker runs (SIGHUP, a change of the policy file): what changed, which of it
// applies at once, and the one line the log and the audit channel get. Pure: the file is read and validated
// elsewhere (config/policy.ts), this only compares two valid policies.
import type { Policy } from './policy.ts';

/** What changed between the running policy and the new one. Names only (hosts, dotted field paths). */
export interface PolicyDiff {
  hostsAdded: string[];
  hostsRemoved: string[];
  /** hosts in both whose owners differ */
  ownersChanged: string[];
  /** hosts in both whose other fields differ: "db-1.maxDuration" */
  hostFieldsChanged: string[];
  /** fields outside hosts and jumpHosts, applied at once, sorted: "approvalChannel", "defaults.maxDuration" */
  fieldsChanged: string[];
  /** changes that apply only after a restart; the running broker keeps the old value: "jumpHosts[jump-2]" */
  needRestart: string[];
}

export type PolicyReload = { ok: true; policy: Policy; diff: PolicyDiff; changed: boolean } | { ok: false; message: string };

/**
 * Top-level fields read once at start: the jump servers (their connections, broker keys and the record of what
 * the broker wrote where), the reconcile schedule and the HTTP body limit. A change keeps the old value until a
 * restart. `limits.maxBodyBytes` is named as a dotted path.
 */
const RESTART_ONLY_FIELDS = ['reconcileInterval'] as const;
const RESTART_ONLY_LIMITS = ['maxBodyBytes'] as const;

/**
 * The policy to run from now on: `next`, except what needs a restart, which keeps its running value. Refused
 * (the old policy stays) when a host names a jump server the running broker does not have.
 */
export function planPolicyReload(current: Policy, next: Policy): PolicyReload {
  const running = new Set(current.jumpHosts.map((j) => j.name));
  const orphan = next.hosts.findIndex((h) => !running.has(h.jumpHost));
  if (orphan >= 0) {
    const h = next.hosts[orphan]!;
    return { ok: false, message: `hosts[${orphan}].jumpHost: jump server "${h.jumpHost}" is not one this broker runs with; adding a jump server needs a restart` };
  }
  const policy: Policy = {
    ...next,
    jumpHosts: current.jumpHosts,
    reconcileInterval: current.reconcileInterval,
    limits: { ...next.limits, maxBodyBytes: current.limits.maxBodyBytes },
  };
  const diff = diffPolicies(current, next);
  const changed = Object.values(diff).some((names: string[]) => names.length > 0);
  return { ok: true, policy, diff, changed };
}

/** What differs between two policies, by host name and field path. */
export function diffPolicies(a: Policy, b: Policy): PolicyDiff {
  const hostsA = new Map(a.hosts.map((h) => [h.name, h]));
  const hostsB = new Map(b.hosts.map((h) => [h.name, h]));
  const both = b.hosts.filter((h) => hostsA.has(h.name));
  const hostFieldsChanged = both.flatMap((h) => changedKeys(hostsA.get(h.name)!, h, ['name', 'owners']).map((k) => `${h.name}.${k}`));
  const top = changedKeys(a, b, ['hosts', 'jumpHosts']).flatMap((k) => {
    const va = (a as unknown as Record<string, unknown>)[k];
    const vb = (b as unknown as Record<string, unknown>)[k];
    return isPlainObject(va) && isPlainObject(vb) ? changedKeys(va, vb, []).map((sub) => `${k}.${sub}`) : [k];
  }).sort();
  const restartOnly = new Set<string>([...RESTART_ONLY_FIELDS, ...RESTART_ONLY_LIMITS.map((f) => `limits.${f}`)]);
  return {
    hostsAdded: b.hosts.filter((h) => !hostsA.has(h.name)).map((h) => h.name),
    hostsRemoved: a.hosts.filter((h) => !hostsB.has(h.name)).map((h) => h.name),
    ownersChanged: both.filter((h) => !sameValue(hostsA.get(h.name)!.owners, h.owners)).map((h) => h.name),
    hostFieldsChanged,
    fieldsChanged: top.filter((f) => !restartOnly.has(f)),
    needRestart: [...jumpHostChanges(a, b), ...top.filter((f) => restartOnly.has(f))],
  };
}

/** Jump servers added, removed or changed, as "jumpHosts[name]". */
function jumpHostChanges(a: Policy, b: Policy): string[] {
  const inA = new Map(a.jumpHosts.map((j) => [j.name, j]));
  const names = [...new Set([...a.jumpHosts, ...b.jumpHosts].map((j) => j.name))];
  return names.filter((n) => !sameValue(inA.get(n), b.jumpHosts.find((j) => j.name === n))).map((n) => `jumpHosts[${n}]`);
}

/** The one line of a reload, for the log and the audit channel: "hosts added: db-3; owners changed: db-1". */
export function describePolicyDiff(diff: PolicyDiff): string {
  const parts: [string, string[]][] = [
    ['hosts added', diff.hostsAdded],
    ['hosts removed', diff.hostsRemoved],
    ['owners changed', diff.ownersChanged],
    ['host fields changed', diff.hostFieldsChanged],
    ['changed', diff.fieldsChanged],
    ['needs a restart, the old value stays', diff.needRestart],
  ];
  const said = parts.filter(([, names]) => names.length > 0).map(([what, names]) => `${what}: ${listed(names)}`);
  return said.length ? said.join('; ') : 'nothing changed';
}

/** At most ten names, then how many more. */
function listed(names: string[], max = 10): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** Keys of either object whose values differ, in the order they appear (first `b`'s, then those only in `a`). */
function changedKeys(a: object, b: object, skip: readonly string[]): string[] {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(rb), ...Object.keys(ra)])].filter((k) => !skip.includes(k));
  return keys.filter((k) => !sameValue(ra[k], rb[k]));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality of parsed YAML values (key order does not matter; an absent key equals undefined). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && String(a) === String(b);
  if (isPlainObject(a) && isPlainObject(b)) return changedKeys(a, b, []).length === 0;
  return false;
}

// Who may do what, in one table. Every action the broker offers is listed here (a new action does not type-check
// until it is); the service asks `authorize` before acting, and a refusal is answered ephemerally and audited.
// Callers from another Slack workspace never get this far (the Slack adapter refuses them first).
import { ok, refuse, type AuthorizationRefusals, type Result } from './result.ts';

export const ACTIONS = ['help', 'list', 'key-show', 'key-add', 'key-remove', 'request', 'approve', 'deny', 'cancel', 'revoke', 'request-again', 'extend', 'acknowledge', 'audit'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * How the actor stands to the request acted on: every caller is a `member` of the workspace; `requester` made
 * the request; `owner` is among the host's owners (user groups expanded). Self-service actions have no request:
 * they only ever read or change the actor's own key and requests. `auditor`: among the policy's auditors.
 */
export type Role = 'member' | 'requester' | 'owner' | 'auditor';

export interface Rule {
  /** allowed if the actor has any of these roles… */
  anyOf: readonly Role[];
  /** …and none of these */
  noneOf: readonly Role[];
  /** for people: the README's table is written from this */
  who: string;
}

export const PERMISSIONS: Readonly<Record<Action, Rule>> = {
  help: { anyOf: ['member'], noneOf: [], who: 'anyone in the workspace' },
  list: { anyOf: ['member'], noneOf: [], who: 'anyone in the workspace (their own requests only)' },
  'key-show': { anyOf: ['member'], noneOf: [], who: 'anyone in the workspace (their own key only)' },
  'key-add': { anyOf: ['member'], noneOf: [], who: 'anyone in the workspace (their own key only)' },
  'key-remove': { anyOf: ['member'], noneOf: [], who: 'anyone in the workspace (their own key only)' },
  request: { anyOf: ['member'], noneOf: [], who: 'anyone in the workspace (for themselves only)' },
  approve: { anyOf: ['owner'], noneOf: ['requester'], who: "an owner of the host, never the requester; each approval from a different owner" },
  deny: { anyOf: ['owner'], noneOf: [], who: 'an owner of the host' },
  cancel: { anyOf: ['requester', 'owner'], noneOf: [], who: 'the requester or an owner of the host (pending requests)' },
  revoke: { anyOf: ['requester', 'owner'], noneOf: [], who: 'the requester or an owner of the host (active grants)' },
  // The Request again button prefills a form from an earlier request: only its requester, for themselves.
  'request-again': { anyOf: ['requester'], noneOf: [], who: 'the requester of the earlier request (for themselves only)' },
  // Owners decide an extension (approve/deny above, never its requester); only the grant's requester asks for one.
  extend: { anyOf: ['requester'], noneOf: [], who: 'the requester of the grant (owners decide the extension)' },
  // The post-hoc review of a break-glass grant: another person than the one who broke the glass.
  acknowledge: { anyOf: ['owner'], noneOf: ['requester'], who: 'an owner of the host, never the person who broke the glass' },
  // Reading the audit trail: auditors every host; an owner only the hosts they own (the service narrows it).
  audit: { anyOf: ['auditor', 'owner'], noneOf: [], who: 'the people listed in auditors (every host), and owners (their own hosts only)' },
};

export interface Subject {
  actor: string;
  /** the request's requester, for actions on a request */
  requester?: string;
  /** the host's owners expanded to user ids, for actions on a request */
  owners?: ReadonlySet<string>;
  /** the host's name, for the refusal */
  host?: string;
  /** among the policy's auditors (user groups expanded) */
  auditor?: boolean;
}

export function rolesOf(s: Subject): Set<Role> {
  const roles = new Set<Role>(['member']);
  if (s.requester !== undefined && s.actor === s.requester) roles.add('requester');
  if (s.owners?.has(s.actor)) roles.add('owner');
  if (s.auditor) roles.add('auditor');
  return roles;
}

export type Authorization = Result<null, keyof AuthorizationRefusals>;

export function authorize(action: Action, s: Subject): Authorization {
  const rule = PERMISSIONS[action];
  const roles = rolesOf(s);
  if (rule.anyOf.some((r) => roles.has(r)) && !rule.noneOf.some((r) => roles.has(r))) return ok(null);
  // The requester is told why in those words, owner or not: "only the owners …" would send them looking for one.
  if (action === 'approve' && roles.has('requester')) return refuse('self-approval', 'own request', {});
  const host = s.host ?? 'the host';
  switch (action) {
    case 'approve':
    case 'deny':
      return refuse('not-owner', `not an owner of ${host}`, { action, host: s.host });
    case 'cancel':
    case 'revoke':
      return refuse('not-owner', `neither the requester nor an owner of ${host}`, { action, host: s.host });
    case 'request-again':
      return refuse('not-owner', 'not the requester of the earlier request', { action, host: s.host });
    case 'extend':
      return refuse('not-owner', 'not the requester of the grant', { action, host: s.host });
    case 'acknowledge':
      return refuse('not-owner', `not an owner of ${host}, or the one who broke the glass`, { action, host: s.host });
    case 'audit':
      return refuse('not-auditor', `neither an auditor nor an owner of ${s.host ?? 'any host'}`, s.host === undefined ? {} : { host: s.host });
    default:
      // Unreachable while every member may use the self-service actions; kept so that a new rule is answered.
      return refuse('not-allowed', `not allowed as ${[...roles].join(', ')}`, {});
  }
}

// Who may do what, in one table. Every action the broker offers is listed here (a new action does not type-check
// until it is); the service asks `authorize` before acting, and a refusal is answered ephemerally and audited.
// Callers from another Slack workspace never get this far (the Slack adapter refuses them first).
import { ok, refuse, type Result } from './result.ts';

export const ACTIONS = ['help', 'list', 'key-show', 'key-add', 'key-remove', 'request', 'approve', 'deny', 'cancel', 'revoke'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * How the actor stands to the request acted on: every caller is a `member` of the workspace; `requester` made
 * the request; `owner` is among the host's owners (user groups expanded). Self-service actions have no request:
 * they only ever read or change the actor's own key and requests.
 */
export type Role = 'member' | 'requester' | 'owner';

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
};

export interface Subject {
  actor: string;
  /** the request's requester, for actions on a request */
  requester?: string;
  /** the host's owners expanded to user ids, for actions on a request */
  owners?: ReadonlySet<string>;
  /** the host's name, for the refusal message */
  host?: string;
}

export function rolesOf(s: Subject): Set<Role> {
  const roles = new Set<Role>(['member']);
  if (s.requester !== undefined && s.actor === s.requester) roles.add('requester');
  if (s.owners?.has(s.actor)) roles.add('owner');
  return roles;
}

export type Authorization = Result<null>;

export function authorize(action: Action, s: Subject): Authorization {
  const rule = PERMISSIONS[action];
  const roles = rolesOf(s);
  if (rule.anyOf.some((r) => roles.has(r)) && !rule.noneOf.some((r) => roles.has(r))) return ok(null);
  const code = action === 'approve' && roles.has('requester') && roles.has('owner') ? 'self-approval' : roles.has('owner') ? 'not-allowed' : 'not-owner';
  return refuse(code, refusal(action, s, roles));
}

function refusal(action: Action, s: Subject, roles: Set<Role>): string {
  const host = s.host ?? 'this host';
  switch (action) {
    case 'approve':
      return roles.has('requester') && roles.has('owner') ? 'You cannot approve your own request.' : `Only the owners of ${host} can approve this request.`;
    case 'deny':
      return `Only the owners of ${host} can deny this request.`;
    case 'cancel':
    case 'revoke':
      return `Only the requester or an owner of ${host} can ${action} this request.`;
    default:
      return 'You may not do that.';
  }
}

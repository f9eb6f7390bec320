// The YAML policy: one schema, validated once at start-up, defaults filled in.
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isValidTimeZone, parseHours } from '../domain/auto-approval.ts';
import { parseDuration } from '../domain/duration.ts';
import type { HostPolicy, JumpHostPolicy, Policy } from '../domain/policy.ts';

/** The longest duration the policy accepts anywhere (30 days). */
export const MAX_POLICY_DURATION_MS = 30 * 86_400_000;

/** A duration ("30s", "15m", "2h", "1d") in ms, at most `capMs` when given. */
const durationField = (examples: string, capMs?: number) =>
  z
    .string()
    .describe('a duration such as 30s, 15m, 2h, 1d')
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration (use e.g. ${examples})` });
        return z.NEVER;
      }
      if (capMs !== undefined && ms > capMs) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is longer than the 30d every duration is capped at` });
        return z.NEVER;
      }
      return ms;
    });
// Past the cap an expiry can leave what the renderer writes (year 9999), and no access should last longer.
const duration = durationField('30m, 2h, 1d', MAX_POLICY_DURATION_MS);

const slackId = (what: string) =>
  z.string().regex(/^[A-Z0-9][A-Z0-9_-]{1,40}$/i, `must be a Slack ${what} ID such as C0123ABC`);
const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'must be 1-63 letters, digits, dot, dash or underscore, starting with a letter or digit');
// Only characters that are safe inside permitopen="host:port" and ssh command lines. Anything with a colon
// must be a real IPv6 address (bare or bracketed): "10.0.0.5:22" is a port typed into the address.
// Lower-cased: the ssh client lower-cases a host name before asking the jump server for it, and sshd
// compares permitopen case-sensitively, so "DB-1.internal" in permitopen would never match.
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;
const DOTTED_QUAD = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// The resolver (inet_aton) reads "2130706433", "0x7f000001", "0177.1" or "127.1" as 127.0.0.1: a name whose
// last label is a number is an IPv4 address in disguise, allowed only as a plain dotted quad (no leading zeros:
// "010.0.0.1" is octal). A trailing dot is refused too: permitopen would never match what engineers type.
const numericLooking = (a: string) => /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/i.test(a) || a.endsWith('.');
const address = z
  .string()
  .refine(
    (a) => HOSTNAME.test(a) || (/^(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)$/.test(a) && isIPv6(a.replace(/^\[(.*)\]$/, '$1'))),
    'must be a hostname or IP address',
  )
  .refine(
    (a) => !HOSTNAME.test(a) || !numericLooking(a) || DOTTED_QUAD.test(a),
    'must write IPv4 as a dotted quad such as 10.0.0.5 (numeric, hex, octal and short forms resolve to other addresses: 2130706433 is 127.0.0.1) and a hostname without a trailing dot',
  )
  .transform((a) => a.toLowerCase());

// The managed file's path, used as given over SFTP: no "~" (SFTP does not expand it), no "..", no control
// characters (a YAML block scalar leaves a trailing newline), and normalised, so what the operator reads is
// the file that is written.
const authorizedKeysPath = z.string().superRefine((p, ctx) => {
  const problem =
    p === ''
      ? 'must not be empty'
      : /[\u0000-\u001f\u007f]/.test(p)
        ? 'must not contain control characters or line breaks'
        : p !== p.trim()
          ? 'must not start or end with spaces'
          : p.startsWith('~')
            ? 'must not start with "~": SFTP does not expand it; write it relative to the jump account\'s home (.ssh/authorized_keys) or absolute'
            : p.split('/').includes('..')
              ? 'must not contain ".." (it could leave the jump account\'s files)'
              : posix.normalize(p) !== p || (p.length > 1 && p.endsWith('/'))
                ? `must be a normalised path (${JSON.stringify(posix.normalize(p).replace(/(.)\/$/, '$1'))})`
                : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const port = z.number().int().min(1).max(65535);
const slackIds = (what: string) => z.array(slackId(what)).min(1);
// A regular expression a reason must match (JavaScript syntax, tested against the whole reason as typed).
const reasonPattern = z
  .string()
  .min(1)
  .max(500)
  .refine((p) => {
    try {
      new RegExp(p);
      return true;
    } catch {
      return false;
    }
  }, 'must be a valid regular expression (JavaScript syntax), such as "^(INC|CHG)-[0-9]+"')
  .describe('a reason must match this regular expression');
const reasonHint = z.string().min(1).max(300).describe('what a person is told when the reason does not match reasonPattern');
// Labels name hosts for rules: `env: prod`, `team: db`.
const labelWord = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'must be 1-63 letters, digits, dot, dash or underscore');
const labels = z.record(labelWord, labelWord);
// `0` (a number in YAML) turns self-extension off; anything else is a duration.
const selfExtend = z.union([z.literal(0), z.literal('0').transform(() => 0), duration]);
const loginUser = z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'must be a POSIX user name');

export const defaultsSchema = z
  .object({
    duration: duration.prefault('1h').describe('duration when a request names none'),
    minDuration: duration.prefault('1m').describe('shortest duration anyone may request'),
    maxDuration: duration.prefault('8h').describe('longest duration unless a host says otherwise'),
    requireReason: z.boolean().default(true).describe('a reason must be given with every request'),
    approvals: z.number().int().min(1).max(5).default(1).describe('distinct owner approvals needed'),
    approvalTimeout: duration.prefault('24h').describe('a request with no decision by then times out'),
    expiryWarning: duration.prefault('10m').describe('how long before expiry the requester is warned'),
    remindAfter: z
      .union([z.literal('off').transform(() => 0), duration])
      .prefault('15m')
      .describe('an undecided request reminds its owners after this long, then at doubling intervals ("off": never)'),
    escalateAfter: duration.optional().describe('after this long undecided, reminders also go to escalateTo'),
    escalateTo: z.array(slackId('user or user-group')).min(1).optional().describe('Slack user (U…) or user-group (S…) IDs told of requests undecided after escalateAfter'),
    selfExtend: selfExtend.default(0).describe('extensions whose total stays within this are granted without approval (0: never)'),
    maxTotalDuration: duration.optional().describe('the longest a grant may last with its extensions (default: 3 × the host’s maxDuration)'),
    reasonPattern: reasonPattern.optional(),
    reasonHint: reasonHint.optional(),
    requesters: slackIds('user or user-group').optional().describe('only these Slack users (U…) or user groups (S…) may request (default: anyone)'),
  })
  .strict()
  .superRefine((d, ctx) => {
    if ((d.escalateAfter === undefined) !== (d.escalateTo === undefined))
      ctx.addIssue({ code: 'custom', path: [d.escalateAfter === undefined ? 'escalateAfter' : 'escalateTo'], message: 'escalateAfter and escalateTo go together' });
  });

// Abuse limits: how much one person can ask of the broker. Rate windows slide; counts live in Redis.
export const limitsSchema = z
  .object({
    window: duration.prefault('1h').describe('the sliding window the per-person rate limits count over'),
    requestsPerWindow: z.number().int().min(1).max(10_000).default(20).describe('access requests one person may make per window'),
    keyChangesPerWindow: z.number().int().min(1).max(10_000).default(5).describe('key add/remove commands one person may make per window'),
    maxPendingRequests: z.number().int().min(1).max(1_000).default(3).describe('requests one person may have waiting for approval at once'),
    maxCommandLength: z.number().int().min(200).max(8_000).default(4_000).describe('longest /jump command text accepted (characters)'),
    maxReasonLength: z.number().int().min(10).max(2_000).default(500).describe('longest reason accepted (characters)'),
    maxBodyBytes: z
      .number()
      .int()
      .min(16 * 1024)
      .max(4 * 1024 * 1024)
      .default(128 * 1024)
      .describe('largest HTTP request body accepted from Slack (bytes); larger gets 413'),
  })
  .strict();

export const keysSchema = z
  .object({
    minRsaBits: z.number().int().min(2048).max(16_384).default(3072).describe('smallest RSA key accepted (2048 at the least)'),
  })
  .strict();

// sshd's log as the jump account reads it: journald through journalctl (SSH exec, a fixed command), or a
// syslog file over SFTP. The path is used as given over SFTP, like authorizedKeysPath, and must be absolute.
const sshdLogSchema = z.union([
  z.object({ journal: z.literal(true) }).strict(),
  z
    .object({
      file: authorizedKeysPath.refine((p) => p.startsWith('/'), 'must be an absolute path such as /var/log/auth.log'),
    })
    .strict(),
]);

export const jumpHostSchema = z
  .object({
    name,
    address: address.describe('what the broker connects to'),
    port: port.default(22),
    user: loginUser.describe('the account engineers jump as; its authorized_keys holds the managed block'),
    hostKey: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint such as "SHA256:abc…" (ssh-keygen -lf)')
      .describe('the pinned host key fingerprint; any other key is refused'),
    privateKeyPath: z.string().min(1).describe("the broker's own private key (OpenSSH format)"),
    authorizedKeysPath: authorizedKeysPath.default('.ssh/authorized_keys').describe("absolute, or relative to the jump account's home"),
    publicAddress: address.optional().describe('what engineers type after -J (defaults to address)'),
    publicPort: port.optional().describe('the port engineers use (defaults to port)'),
    utcExpiryOnOldServers: z
      .boolean()
      .default(false)
      .describe('the jump server runs in UTC: below OpenSSH 9.1 write expiry-time as local time'),
    retired: z
      .boolean()
      .default(false)
      .describe('take no new grants, end the active ones, empty the block; then the entry may be removed'),
    sshdLog: sshdLogSchema.optional().describe("where the jump account reads sshd's log: { journal: true } or { file: /var/log/auth.log }"),
    endSessions: z.boolean().optional().describe('live connections end with their grant (default: true when sshdLog is set)'),
  })
  .strict()
  .transform(({ endSessions, ...jh }) => ({ ...jh, endSessions: endSessions ?? jh.sshdLog !== undefined }))
  .superRefine((jh, ctx) => {
    if (jh.endSessions && !jh.sshdLog)
      ctx.addIssue({ code: 'custom', path: ['endSessions'], message: 'needs sshdLog: the broker finds live connections in sshd\'s log' });
  });

// What a host names itself or takes from the rules its labels match (its own fields win).
const ruleFields = {
  owners: slackIds('user or user-group').optional().describe('Slack user IDs (U…) or user-group IDs (S…)'),
  maxDuration: duration.optional(),
  approvals: z.number().int().min(1).max(5).optional(),
  requireReason: z.boolean().optional(),
  selfExtend: selfExtend.optional(),
  maxTotalDuration: duration.optional(),
  reasonPattern: reasonPattern.optional(),
  reasonHint: reasonHint.optional(),
  requesters: slackIds('user or user-group').optional(),
};
export type RuleFields = { [K in keyof typeof ruleFields]?: z.output<(typeof ruleFields)[K]> };

export const hostSchema = z
  .object({
    name,
    address: address.describe('the exact address engineers reach through the jump server (permitopen)'),
    port: port.default(22),
    jumpHost: name.describe('name of an entry in jumpHosts'),
    loginUser: loginUser.default('root').describe('shown in the connect instructions'),
    labels: labels.optional().describe('labels rules match on, e.g. { env: prod, team: db }'),
    ...ruleFields,
  })
  .strict();

export const ruleSchema = z
  .object({
    match: labels.refine((m) => Object.keys(m).length > 0, 'must name at least one label').describe('the labels a host must have (all of them)'),
    ...ruleFields,
  })
  .strict();

// Routine access that needs no human (domain/auto-approval.ts): who, which hosts, how long, when.
export const autoApproveSchema = z
  .object({
    users: slackIds('user or user-group').describe('Slack user (U…) or user-group (S…) IDs'),
    hosts: z.array(z.union([name, labels])).min(1).describe('host names, or label selectors such as { env: staging }'),
    maxDuration: duration.describe('longer requests go to the owners as usual'),
    hours: z.string().refine((h) => parseHours(h) !== undefined, 'must be a local time span such as "08:00-18:00"').optional(),
    days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).min(1).optional(),
    timezone: z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin').default('UTC'),
  })
  .strict();

// Break-glass (service/break-glass.ts): access at once for the people listed, loud, reviewed afterwards.
export const breakGlassSchema = z
  .object({
    users: slackIds('user or user-group').describe('Slack user (U…) or user-group (S…) IDs who may break the glass'),
    maxDuration: duration.prefault('1h').describe('the longest break-glass grant'),
    reviewWithin: duration.prefault('24h').describe('an owner acknowledges it within this, or it escalates to the audit channel'),
  })
  .strict();

// Audit retention is counted in days and years, past the 30d cap of access durations.
const retentionDuration = durationField('400d');

// The daily digest (src/audit/daily-digest.ts): a local time of day in a time zone, as autoApprove names them.
export const digestSchema = z
  .object({
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'must be a local time of day "HH:MM" (or "HH:MM:SS") from 00:00 to 23:59, such as "09:00"').default('09:00').describe('local time of day the digest is posted'),
    timezone: z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin').default('UTC').describe('IANA time zone of at'),
  })
  .strict();

// The audit trail (src/audit): how long Redis keeps it, and when its digest is posted.
export const auditSchema = z
  .object({
    retention: retentionDuration.prefault('400d').describe('events older than this leave Redis (export them before); at least 1d'),
    digest: digestSchema.prefault({}).describe('the daily digest to the audit channel: { at: "HH:MM", timezone: IANA zone }'),
  })
  .strict();

export const policySchema = z
  .object({
    auditChannel: slackId('channel').describe('every audit event is posted here'),
    auditors: z.array(slackId('user or user-group').regex(/^[UWS]/, 'must be a user (U…) or user-group (S…) ID')).default([]).describe('Slack user (U…) or user-group (S…) IDs who may read /jump audit for every host'),
    audit: auditSchema.prefault({}),
    approvalChannel: slackId('channel').optional().describe('approval requests are also posted here'),
    teamId: slackId('team').optional().describe('the Slack workspace allowed to use the broker'),
    defaults: defaultsSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    keys: keysSchema.prefault({}),
    reconcileInterval: duration
      .prefault('1m')
      .describe('how often one replica syncs every jump server and moves stuck requests on (orphan lines, missing lines, hand edits)'),
    jumpHosts: z.array(jumpHostSchema).min(1),
    rules: z.array(ruleSchema).default([]).describe('fields for every host whose labels match; a host’s own fields win'),
    autoApprove: z.array(autoApproveSchema).default([]).describe('requests granted without a click'),
    breakGlass: breakGlassSchema.optional(),
    hosts: z.array(hostSchema).min(1),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.audit.retention < 86_400_000) ctx.addIssue({ code: 'custom', path: ['audit', 'retention'], message: 'must be at least 1d' });
    if (policy.reconcileInterval < 1000) ctx.addIssue({ code: 'custom', path: ['reconcileInterval'], message: 'must be at least 1s' });
    if (policy.defaults.duration < policy.defaults.minDuration)
      ctx.addIssue({ code: 'custom', path: ['defaults', 'duration'], message: 'is shorter than defaults.minDuration' });
    const jumpNames = new Set<string>();
    policy.jumpHosts.forEach((j, i) => {
      if (jumpNames.has(j.name)) ctx.addIssue({ code: 'custom', path: ['jumpHosts', i, 'name'], message: `duplicate jump host "${j.name}"` });
      jumpNames.add(j.name);
    });
    const hostNames = new Set<string>();
    policy.hosts.forEach((h, i) => {
      if (hostNames.has(h.name)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `duplicate host "${h.name}"` });
      hostNames.add(h.name);
      if (!jumpNames.has(h.jumpHost))
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'jumpHost'], message: `no jump host named "${h.jumpHost}" in jumpHosts` });
    });
    policy.autoApprove.forEach((rule, i) =>
      rule.hosts.forEach((h, j) => {
        if (typeof h === 'string' && !hostNames.has(h)) ctx.addIssue({ code: 'custom', path: ['autoApprove', i, 'hosts', j], message: `no host named "${h}" in hosts` });
      }),
    );
  })
  // Each host with the fields of the rules its labels match (in order; its own fields win), then checked as a whole.
  .transform((raw, ctx) => {
    const policy = { ...raw, hosts: raw.hosts.map((h) => withRules(h, raw.rules)) };
    policy.hosts.forEach((h, i) => {
      if (h.owners.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'owners'], message: 'no owners: give owners, or labels that match a rule giving them' });
        return;
      }
      const approvals = h.approvals ?? policy.defaults.approvals;
      const namedUsers = h.owners.filter((o) => !o.startsWith('S')).length;
      if (namedUsers > 0 && !h.owners.some((o) => o.startsWith('S')) && namedUsers < approvals)
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'approvals'], message: `needs ${approvals} approvals but lists only ${namedUsers} owners` });
      const maxDuration = h.maxDuration ?? policy.defaults.maxDuration;
      if (maxDuration < policy.defaults.minDuration)
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'maxDuration'], message: 'is shorter than defaults.minDuration' });
      const total = h.maxTotalDuration ?? policy.defaults.maxTotalDuration;
      if (total !== undefined && total < maxDuration)
        ctx.addIssue({
          code: 'custom',
          path: h.maxTotalDuration !== undefined ? ['hosts', i, 'maxTotalDuration'] : ['defaults', 'maxTotalDuration'],
          message: `is shorter than the maxDuration of ${h.name}`,
        });
    });
    return policy as Policy;
  });

/** A host with the fields of every rule its labels match, in the rules' order; the host's own fields win. */
function withRules<H extends RuleFields & { labels?: Record<string, string> }>(host: H, rules: readonly (RuleFields & { match: Record<string, string> })[]) {
  const applied = rules.flatMap((r, i) => (Object.entries(r.match).every(([k, v]) => host.labels?.[k] === v) ? [i] : []));
  const defined = (o: object) => Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'match'));
  const merged = Object.assign({}, ...applied.map((i) => defined(rules[i]!)), defined(host)) as H;
  return { ...merged, owners: merged.owners ?? [], ...(applied.length ? { appliedRules: applied } : {}) };
}

// The schema parses into exactly the domain's policy types: a field added on one side only fails to compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const parsesIntoDomainTypes: Same<z.output<typeof policySchema>, Policy> = true;
void parsesIntoDomainTypes;

export type { Policy };
export type JumpHostConfig = JumpHostPolicy;
export type HostConfig = HostPolicy;

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

/** Validates a parsed policy; the error names each offending field as a dotted path. */
export function validatePolicy(raw: unknown, source = 'policy'): Policy {
  const result = policySchema.safeParse(raw);
  if (result.success) return result.data;
  const format = (path: readonly PropertyKey[]) =>
    path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  const lines = result.error.issues.flatMap((issue) =>
    // An unknown field is named by its own path (hosts[0].colour), not only by its parent's.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `  ${format([...issue.path, key])}: unknown field (a typo?)`)
      : [`  ${format(issue.path) || '(top level)'}: ${issue.message}`],
  );
  throw new PolicyError(`${source} is invalid:\n${lines.join('\n')}`);
}

export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyError(`cannot read policy file ${path}: ${(err as Error).message} (set JIT_CONFIG to its path)`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new PolicyError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  return validatePolicy(raw, path);
}

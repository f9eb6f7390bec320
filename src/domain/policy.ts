// The policy as the domain reads it: plain types, declared here so the domain depends on no other part of the
// broker. The YAML schema (config/policy.ts) parses into exactly these (checked when it compiles); durations
// are milliseconds, defaults are filled in.

export interface PolicyDefaults {
  /** duration when a request names none */
  duration: number;
  minDuration: number;
  maxDuration: number;
  requireReason: boolean;
  /** distinct owner approvals needed */
  approvals: number;
  /** a request with no decision by then times out */
  approvalTimeout: number;
  /** how long before expiry the requester is warned */
  expiryWarning: number;
  /** an undecided request reminds its owners after this long, then at doubling intervals (0: never, `off` in YAML) */
  remindAfter: number;
  /** after this long undecided, reminders also go to escalateTo */
  escalateAfter?: number;
  /** Slack user or user-group IDs told of requests undecided after escalateAfter */
  escalateTo?: string[];
  /** extensions whose total stays within this are granted without approval (0: every extension is approved) */
  selfExtend: number;
  /** the longest a grant may last with its extensions (default: 3 × the host's maxDuration) */
  maxTotalDuration?: number;
  /** a reason must match this regular expression (JavaScript syntax) */
  reasonPattern?: string;
  /** what a person is told when their reason does not match reasonPattern */
  reasonHint?: string;
  /** only these Slack user or user-group IDs may request (unset: anyone in the workspace) */
  requesters?: string[];
}

/** What a host may set for itself, or take from a rule; unset, the defaults apply. */
export interface HostOverrides {
  maxDuration?: number;
  approvals?: number;
  requireReason?: boolean;
  selfExtend?: number;
  maxTotalDuration?: number;
  reasonPattern?: string;
  reasonHint?: string;
  requesters?: string[];
}

/** Fields for every host whose labels match `match` (all of them); a host's own fields win over a rule's. */
export interface RulePolicy extends HostOverrides {
  match: Record<string, string>;
  owners?: string[];
}

/** How much one person can ask of the broker (rate windows slide). */
export interface PolicyLimits {
  window: number;
  requestsPerWindow: number;
  keyChangesPerWindow: number;
  maxPendingRequests: number;
  maxCommandLength: number;
  maxReasonLength: number;
  maxBodyBytes: number;
}

export interface PolicyKeys {
  minRsaBits: number;
}

/** A jump server whose authorized_keys holds the managed block. */
export interface JumpHostPolicy {
  name: string;
  /** what the broker connects to */
  address: string;
  port: number;
  /** the account engineers jump as */
  user: string;
  /** pinned host key fingerprint (SHA256:…) */
  hostKey: string;
  privateKeyPath: string;
  authorizedKeysPath: string;
  /** what engineers type after -J (defaults to address) */
  publicAddress?: string;
  publicPort?: number;
  /** the jump server runs in UTC: below OpenSSH 9.1 write expiry-time as local time */
  utcExpiryOnOldServers: boolean;
  /** takes no new grants; its active grants end and its block is emptied (then the entry may be removed) */
  retired: boolean;
  /** where the jump account reads sshd's log (connections per grant; ending live sessions) */
  sshdLog?: SshdLogSource;
  /** live connections end with their grant (true by default when sshdLog is set; needs it) */
  endSessions: boolean;
}

export type SshdLogSource = { journal: true } | { file: string };

/** A host engineers may reach through a jump server. */
export interface HostPolicy extends HostOverrides {
  name: string;
  /** the exact address engineers reach through the jump server (permitopen) */
  address: string;
  port: number;
  /** name of an entry in jumpHosts */
  jumpHost: string;
  loginUser: string;
  /** Slack user IDs (U…) or user-group IDs (S…): the host's own, or its rules' */
  owners: string[];
  /** what rules match on */
  labels?: Record<string, string>;
  /** the indexes (0-based) of the rules whose fields this host took, in order */
  appliedRules?: number[];
}

/** A request matching one of these is granted without a click (the first that matches, by its number). */
export interface AutoApproveRule {
  /** Slack user (U…) or user-group (S…) IDs */
  users: string[];
  /** host names, or label selectors ({ env: staging }: every host with those labels) */
  hosts: (string | Record<string, string>)[];
  /** requests longer than this are not auto-approved */
  maxDuration: number;
  /** local time span "HH:MM-HH:MM" (22:00-06:00 spans midnight); unset: all day */
  hours?: string;
  /** weekdays (mon … sun); unset: every day */
  days?: ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[];
  /** IANA time zone of hours and days */
  timezone: string;
}

/** Who may take access at once in an emergency, for how long, and how soon an owner must review it. */
export interface BreakGlassPolicy {
  /** Slack user (U…) or user-group (S…) IDs */
  users: string[];
  maxDuration: number;
  /** an owner acknowledges a break-glass grant within this, or it escalates to the audit channel */
  reviewWithin: number;
}

/** When the daily audit digest is posted to the audit channel. */
export interface DigestPolicy {
  /** local time of day, "HH:MM" (00:00–23:59) */
  at: string;
  /** IANA time zone of `at` */
  timezone: string;
}

/** How long the audit trail is kept in Redis, and its daily digest. */
export interface AuditPolicy {
  /** events older than this leave Redis (by age, never by count); export them before */
  retention: number;
  digest: DigestPolicy;
}

export interface Policy {
  auditChannel: string;
  /** Slack user (U…) or user-group (S…) IDs who may read `/jump audit` for every host (owners: their hosts) */
  auditors: string[];
  audit: AuditPolicy;
  approvalChannel?: string;
  teamId?: string;
  defaults: PolicyDefaults;
  limits: PolicyLimits;
  keys: PolicyKeys;
  reconcileInterval: number;
  jumpHosts: JumpHostPolicy[];
  rules: RulePolicy[];
  autoApprove: AutoApproveRule[];
  breakGlass?: BreakGlassPolicy;
  /** every host with its rules' fields already applied */
  hosts: HostPolicy[];
}

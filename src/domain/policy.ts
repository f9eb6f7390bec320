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
export interface HostPolicy {
  name: string;
  /** the exact address engineers reach through the jump server (permitopen) */
  address: string;
  port: number;
  /** name of an entry in jumpHosts */
  jumpHost: string;
  loginUser: string;
  /** Slack user IDs (U…) or user-group IDs (S…) */
  owners: string[];
  maxDuration?: number;
  approvals?: number;
  requireReason?: boolean;
  selfExtend?: number;
  maxTotalDuration?: number;
}

export interface Policy {
  auditChannel: string;
  approvalChannel?: string;
  teamId?: string;
  defaults: PolicyDefaults;
  limits: PolicyLimits;
  keys: PolicyKeys;
  reconcileInterval: number;
  jumpHosts: JumpHostPolicy[];
  hosts: HostPolicy[];
}

// Every Redis key the broker uses, in one place. All of them carry one hash tag ({jit} by default), so they
// sit in one Redis Cluster slot: the Lua scripts, MULTI blocks and pipelines that touch several of them stay
// legal on a cluster (CROSSSLOT otherwise). jit-jump's load is small; one slot costs it nothing.
export function redisKeys(prefix = '{jit}') {
  const p = hashTagged(prefix);
  return {
    request: (id: string) => `${p}:req:${id}`,
    requestMessages: (id: string) => `${p}:req:${id}:msgs`,
    userRequests: (user: string) => `${p}:user:${user}:reqs`,
    activeGrants: (jumpHost: string) => `${p}:active:${jumpHost}`,
    /** grants that left `active` (id → when), until a sync of their jump host has taken their line out */
    endedGrants: (jumpHost: string) => `${p}:ended:${jumpHost}`,
    /** undecided requests (id → created at): the reconciler times out those past the approval timeout */
    pendingRequests: `${p}:pending`,
    /** break-glass grants no owner has acknowledged yet (id → review due at) */
    breakGlassReviews: `${p}:breakglass:reviews`,
    /** grants whose follow-up after activation (jobs, connect instructions) is not done yet (id → activated at) */
    activating: `${p}:activating`,
    /** set once a reminder (its number, or `escalation`) of an undecided request was sent */
    reminderClaim: (id: string, what: string) => `${p}:req:${id}:reminded:${what}`,
    /** lease held by the replica doing a grant's activation follow-up */
    activationLease: (id: string) => `${p}:req:${id}:lease`,
    userKey: (user: string) => `${p}:key:${user}`,
    keyOwner: (fingerprint: string) => `${p}:keyfp:${fingerprint}`,
    auditStream: `${p}:audit`,
    /** who is posting an audit entry, then that it was posted (so a replica taking it over does not post it twice) */
    auditDelivery: (streamId: string) => `${p}:audit:delivery:${streamId}`,
    ...jumpHostKeys(p),
    /** the daily digest of a local date: "claimed" once a replica started it, "posted" once it is in Slack */
    digestDay: (date: string) => `${p}:digest:${date}`,
    /** held by the replica posting a date's digest (a lease: a dead holder's lapses) */
    digestLease: (date: string) => `${p}:digest:${date}:lease`,
    /** where the last posted digest's window ended (ms): the next one starts there */
    digestWindowEnd: `${p}:digest:window-end`,
    /** when the last reconcile finished (ms) */
    lastReconcile: `${p}:reconcile:last`,
    rateLimit: (kind: string, user: string) => `${p}:rate:${kind}:${user}`,
    rateLimitNotice: (kind: string, user: string) => `${p}:rate:${kind}:${user}:noticed`,
  };
}
/** The keys of each jump server's state: its sync, its block, its standing keys and its sshd log's connections. */
function jumpHostKeys(p: string) {
  return {
    /** one sync of a jump server at a time across replicas */
    syncLock: (jumpHost: string) => `${p}:jh:${jumpHost}:lock`,
    /** sha256 of every line the broker wrote into the managed block and has not taken out yet */
    renderedLines: (jumpHost: string) => `${p}:jh:${jumpHost}:rendered`,
    /** every jump server the broker has written to: name → the identity it wrote with (JSON) */
    jumpHostRegistry: `${p}:jh-registry`,
    /** fingerprints of the keys standing in the jump account's authorized_keys outside the block, at the last sync */
    standingKeys: (jumpHost: string) => `${p}:jh:${jumpHost}:standing`,
    /** fingerprints of standing keys whose grants were alerted (once per key and jump server while it stands) */
    standingKeyAlerts: (jumpHost: string) => `${p}:jh:${jumpHost}:standing-alerted`,
    /** set while a jump server is unreachable (one alert per outage, across replicas) */
    jumpHostDown: (jumpHost: string) => `${p}:jh:${jumpHost}:down`,
    /** the fencing token of managed-block writes: INCR under the sync lock, written into the BEGIN marker */
    blockGeneration: (jumpHost: string) => `${p}:jh:${jumpHost}:generation`,
    /** set once a grant the renderer refuses was alerted (one alert per grant, across replicas and syncs) */
    unrenderableAlert: (jumpHost: string, grantId: string) => `${p}:jh:${jumpHost}:unrenderable-alert:${grantId}`,
    /** set for a quiet period once a host key mismatch was alerted (one alert across replicas) */
    hostKeyAlert: (jumpHost: string, presented: string) => `${p}:jh:${jumpHost}:hostkey-alert:${presented}`,
    /** where the last read of the jump server's sshd log stopped (a journald cursor or a file offset) */
    logPosition: (jumpHost: string) => `${p}:jh:${jumpHost}:log-position`,
    /** tunnel lines read up to that position whose process nobody held yet (JSON), to attribute on a later read */
    pendingTunnels: (jumpHost: string) => `${p}:jh:${jumpHost}:log-pending-tunnels`,
    /** a connection seen in the sshd log (JSON ConnectionRecord) */
    connection: (jumpHost: string, id: string) => `${p}:jh:${jumpHost}:conn:${id}`,
    /** ids of the connections not ended yet */
    liveConnections: (jumpHost: string) => `${p}:jh:${jumpHost}:conns-live`,
    /** a key's connections (id → started at) */
    keyConnections: (jumpHost: string, fingerprint: string) => `${p}:jh:${jumpHost}:conns-key:${fingerprint}`,
    /** set once the jump server's log showed a tunnel target (LogVerbose for direct-tcpip is on) */
    targetsLogged: (jumpHost: string) => `${p}:jh:${jumpHost}:targets-logged`,
    /** fingerprints of every key the broker has rendered into the jump server's block */
    blockKeys: (jumpHost: string) => `${p}:jh:${jumpHost}:block-keys`,
    /** the grants rendered into the block with a key (grant id → activated at) */
    keyGrants: (jumpHost: string, fingerprint: string) => `${p}:jh:${jumpHost}:key-grants:${fingerprint}`,
    /** one pass over the jump server's log at a time across replicas */
    logLock: (jumpHost: string) => `${p}:jh:${jumpHost}:log-lock`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/** What the audit forwarder reads: the audit stream, and the delivery marker of each of its entries. */
export function auditStreamKeys(prefix?: string): { stream: string; deliveryKey: (streamId: string) => string } {
  const keys = redisKeys(prefix);
  return { stream: keys.auditStream, deliveryKey: keys.auditDelivery };
}

/** BullMQ builds its own keys under this prefix; the {jit} tag puts every key of the queues in the same slot. */
export const QUEUE_PREFIX = '{jit}:bull';

/** The BullMQ prefix for a given one: a prefix without a hash tag gets braces, so Cluster keeps working. */
export function queuePrefix(prefix?: string): string {
  return hashTagged(prefix ?? QUEUE_PREFIX);
}

/** The BullMQ prefix that goes with a broker key prefix (tests run several brokers on one Redis). */
export function queuePrefixFor(redisPrefix?: string): string | undefined {
  return redisPrefix ? `${redisPrefix}:bull` : undefined;
}

/**
 * The prefix itself if it already holds a hash tag (the first `{…}` with something inside, as Redis Cluster
 * reads it), otherwise the prefix wrapped in braces. Keys built on it then all hash by the tag alone.
 */
export function hashTagged(prefix: string): string {
  const open = prefix.indexOf('{');
  const close = open === -1 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix : `{${prefix}}`;
}

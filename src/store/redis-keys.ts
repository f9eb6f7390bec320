// Every Redis key the broker uses, in one place. The {jit} hash tag keeps them in one Redis Cluster slot
// so the Lua scripts that touch several of them stay legal there.
export function redisKeys(prefix = '{jit}') {
  return {
    request: (id: string) => `${prefix}:req:${id}`,
    requestMessages: (id: string) => `${prefix}:req:${id}:msgs`,
    userRequests: (user: string) => `${prefix}:user:${user}:reqs`,
    activeGrants: (jumpHost: string) => `${prefix}:active:${jumpHost}`,
    /** grants that left `active` (id → when), until a sync of their jump host has taken their line out */
    endedGrants: (jumpHost: string) => `${prefix}:ended:${jumpHost}`,
    /** undecided requests (id → created at): the reconciler times out those past the approval timeout */
    pendingRequests: `${prefix}:pending`,
    /** grants whose follow-up after activation (jobs, connect instructions) is not done yet (id → activated at) */
    activating: `${prefix}:activating`,
    /** lease held by the replica doing a grant's activation follow-up */
    activationLease: (id: string) => `${prefix}:req:${id}:lease`,
    userKey: (user: string) => `${prefix}:key:${user}`,
    keyOwner: (fingerprint: string) => `${prefix}:keyfp:${fingerprint}`,
    auditStream: `${prefix}:audit`,
    /** who is posting an audit entry, then that it was posted (so a replica taking it over does not post it twice) */
    auditDelivery: (streamId: string) => `${prefix}:audit:delivery:${streamId}`,
    /** one sync of a jump server at a time across replicas */
    syncLock: (jumpHost: string) => `${prefix}:jh:${jumpHost}:lock`,
    /** sha256 of every line the broker wrote into the managed block and has not taken out yet */
    renderedLines: (jumpHost: string) => `${prefix}:jh:${jumpHost}:rendered`,
    /** set while a jump server is unreachable (one alert per outage, across replicas) */
    jumpHostDown: (jumpHost: string) => `${prefix}:jh:${jumpHost}:down`,
    /** when the last reconcile finished (ms) */
    lastReconcile: `${prefix}:reconcile:last`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

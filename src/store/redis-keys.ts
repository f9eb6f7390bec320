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
    userKey: (user: string) => `${p}:key:${user}`,
    keyOwner: (fingerprint: string) => `${p}:keyfp:${fingerprint}`,
    auditStream: `${p}:audit`,
    rateLimit: (kind: string, user: string) => `${p}:rate:${kind}:${user}`,
    rateLimitNotice: (kind: string, user: string) => `${p}:rate:${kind}:${user}:noticed`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * The prefix itself if it already holds a hash tag (the first `{…}` with something inside, as Redis Cluster
 * reads it), otherwise the prefix wrapped in braces. Keys built on it then all hash by the tag alone.
 */
export function hashTagged(prefix: string): string {
  const open = prefix.indexOf('{');
  const close = open === -1 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix : `{${prefix}}`;
}

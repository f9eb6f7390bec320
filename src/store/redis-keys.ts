// Every Redis key the broker uses, in one place. The {jit} hash tag keeps them in one Redis Cluster slot
// so the Lua scripts that touch several of them stay legal there.
export function redisKeys(prefix = '{jit}') {
  return {
    request: (id: string) => `${prefix}:req:${id}`,
    requestMessages: (id: string) => `${prefix}:req:${id}:msgs`,
    userRequests: (user: string) => `${prefix}:user:${user}:reqs`,
    activeGrants: (jumpHost: string) => `${prefix}:active:${jumpHost}`,
    userKey: (user: string) => `${prefix}:key:${user}`,
    keyOwner: (fingerprint: string) => `${prefix}:keyfp:${fingerprint}`,
    auditStream: `${prefix}:audit`,
    rateLimit: (kind: string, user: string) => `${prefix}:rate:${kind}:${user}`,
    rateLimitNotice: (kind: string, user: string) => `${prefix}:rate:${kind}:${user}:noticed`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

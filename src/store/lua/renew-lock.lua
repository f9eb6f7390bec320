-- Extends a lock's lease if this holder still has it.
-- KEYS: lock
-- ARGV: token, leaseMs
-- Returns: renewed | lost
if redis.call('GET', KEY.lock) == ARG.token then
  redis.call('PEXPIRE', KEY.lock, ARG.leaseMs)
  return {'renewed'}
end
return {'lost'}

-- Releases a lock only if this holder still has it (a lock that expired and was taken by another is left alone).
-- KEYS: lock
-- ARGV: token
-- Returns: released | notHeld
if redis.call('GET', KEY.lock) == ARG.token then
  redis.call('DEL', KEY.lock)
  return {'released'}
end
return {'notHeld'}

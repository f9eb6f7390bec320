-- Creates a request, unless its requester already has `maxPending` requests undecided among their latest
-- `scan` ones (checked in the same atomic step, so two simultaneous requests cannot both take the last place).
-- A break-glass request (reviewBy set) enters the index of grants awaiting their post-hoc review.
-- KEYS: request, userRequests, auditStream, pendingRequests, reviews
-- ARGV: maxPending, scan, requestKeyPrefix, initialState, createdAt, id, event, reviewBy, [field, value]...
--   maxPending: -1 for no cap; requestKeyPrefix + id is the hash of each of the requester's requests
--   (same hash tag as the KEYS); initialState: the state of an undecided request
-- Returns: ok | capped(pending)
-- #include audit-append
if tonumber(ARG.maxPending) >= 0 then
  local pending = 0
  for _, id in ipairs(redis.call('ZREVRANGE', KEY.userRequests, 0, tonumber(ARG.scan) - 1)) do
    if redis.call('HGET', ARG.requestKeyPrefix .. id, 'state') == ARG.initialState then pending = pending + 1 end
  end
  if pending >= tonumber(ARG.maxPending) then return {'capped', tostring(pending)} end
end
for i = REST, #ARGV, 2 do redis.call('HSET', KEY.request, ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEY.userRequests, ARG.createdAt, ARG.id)
redis.call('ZADD', KEY.pendingRequests, ARG.createdAt, ARG.id)
if ARG.reviewBy ~= '' then redis.call('ZADD', KEY.reviews, ARG.reviewBy, ARG.id) end
auditAppend(KEY.auditStream, ARG.event, '')
return {'ok'}

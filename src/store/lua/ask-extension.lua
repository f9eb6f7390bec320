-- The requester asks to extend their grant. Within selfExtend (the grant's extensions so far plus this one),
-- its end moves at once; otherwise an extension request is stored, undecided, for the host's owners, and the
-- grant names it as its pending extension. Only one extension of a grant waits at a time.
-- KEYS: grant, extension, userRequests, auditStream, pendingRequests, activeGrants
-- ARGV: now, requester, durationMs, maxTotalMs, selfExtendMs, activeState, initialState, requestKeyPrefix, extendedEvent, requestedEvent, [field, value]...
--   extension: the hash of the extension request to create (fields after ARGV); requestKeyPrefix + id: any
--   request's hash (same hash tag as the KEYS); extendedEvent: the audit event of a self-extension (its
--   expiresAt is filled in here; sent as 0); requestedEvent: that of an extension request
-- Returns: self-extended(expiresAt) | asked | waiting(extensionId) | grant-ended(state) | over-total(totalMs) | missing
-- #include audit-append
-- #include extend-grant
local g = redis.call('HMGET', KEY.grant, 'requester', 'pendingExtension', 'extendedMs')
if g[1] ~= ARG.requester then return {'missing'} end
local now = tonumber(ARG.now)
local durationMs = tonumber(ARG.durationMs)
local refused = extensionRefusal(KEY.grant, ARG.activeState, durationMs, tonumber(ARG.maxTotalMs), now)
if refused then return refused end
if g[2] and redis.call('HGET', ARG.requestKeyPrefix .. g[2], 'state') == ARG.initialState then return {'waiting', g[2]} end
if tonumber(g[3] or '0') + durationMs <= tonumber(ARG.selfExtendMs) then
  local expiresAt = extendGrant(KEY.grant, KEY.activeGrants, durationMs)
  auditAppend(KEY.auditStream, auditWithNumber(ARG.extendedEvent, 'expiresAt', expiresAt), ARG.activeState)
  return {'self-extended', tostring(expiresAt)}
end
for i = REST, #ARGV, 2 do redis.call('HSET', KEY.extension, ARGV[i], ARGV[i + 1]) end
local id = redis.call('HGET', KEY.extension, 'id')
redis.call('ZADD', KEY.userRequests, now, id)
redis.call('ZADD', KEY.pendingRequests, now, id)
redis.call('HSET', KEY.grant, 'pendingExtension', id)
auditAppend(KEY.auditStream, ARG.requestedEvent, '')
return {'asked'}

-- Moves a request to `to` if its current state is one of `allowedFrom` (the guard of the state table in
-- src/domain/request-state.ts, passed in), sets the given fields, keeps the indexes the reconciler relies on
-- in step and appends the audit event. Activation is not done here: see approve.lua.
-- A grant's expiry can be guarded too: with `endsAt` set, a grant whose end is no longer `endsAt` does not
-- move (a revoke job scheduled for an end that an extension has since moved).
-- KEYS: request, auditStream, activeGrants, endedGrants, pendingRequests
-- ARGV: allowedFrom, to, initialState, activeState, event, endedAt, endsAt, [field, value]...
--   allowedFrom: comma-separated states; initialState / activeState: the states the pending and
--   active-grants indexes hold; endedAt: when a grant leaving activeState ended (its score in endedGrants)
--   endsAt: '' for no guard
-- Returns: ok(from) | conflict(state) | not-due(expiresAt) | missing
-- #include audit-append
local state = redis.call('HGET', KEY.request, 'state')
if not state then return {'missing'} end
local allowed = false
for s in string.gmatch(ARG.allowedFrom, '[^,]+') do if s == state then allowed = true end end
if not allowed then return {'conflict', state} end
if ARG.endsAt ~= '' then
  local expiresAt = redis.call('HGET', KEY.request, 'expiresAt')
  if expiresAt and tonumber(expiresAt) ~= tonumber(ARG.endsAt) then return {'not-due', expiresAt} end
end
redis.call('HSET', KEY.request, 'state', ARG.to)
for i = REST, #ARGV, 2 do redis.call('HSET', KEY.request, ARGV[i], ARGV[i + 1]) end
local id = redis.call('HGET', KEY.request, 'id')
-- A decided request leaves the index of undecided ones.
if state == ARG.initialState then redis.call('ZREM', KEY.pendingRequests, id) end
-- A grant that ends is remembered as ended until a sync of its jump host has taken its line out.
if state == ARG.activeState then
  redis.call('ZREM', KEY.activeGrants, id)
  redis.call('ZADD', KEY.endedGrants, ARG.endedAt, id)
end
auditAppend(KEY.auditStream, ARG.event, state)
return {'ok', state}

-- Records one owner's approval; the last required approval activates the grant in the same step (the clock
-- starts now, not when the request was made). The new grant enters the activating index: its follow-up
-- (revoke job, sync, connect instructions) is owed until done, by this replica or the reconciler.
-- The current policy is checked in the same step, so nothing approves what it would refuse now: the approval
-- deadline (createdAt + approvalTimeoutMs: a late or lost time-out job must not leave the request approvable),
-- the host's maximum duration (a request over it is refused, not clamped: the requester asked for that time),
-- and the host's required approvals (a raised count is stored, so this approval is recorded and more are needed).
-- An extension request (its `extends` names the grant) does not become a grant: its last approval moves the
-- grant's end (lua/include/extend-grant.lua) in the same step and the extension ends as `extendedState`. If
-- the grant has ended, or would last longer than maxTotalMs, nothing is recorded and the caller ends it.
-- Shorter approvals (lua/include/shorter-approval.lua): `approvedMs` (or '') is this approver's choice of less
-- than asked (checked by the caller; ignored for an extension); the request keeps the shortest choice, and
-- the grant lasts that long. Its approval events carry that time and say who shortened it.
-- KEYS: request, auditStream, activeGrants, pendingRequests, activating, grant
-- ARGV: approver, now, allowedFrom, activeState, recordedEvent, approvedEvent, activatedEvent, approvalTimeoutMs, maxDurationMs, requiredApprovals, extendedState, extendedEvent, maxTotalMs, approvedMs
--   allowedFrom: comma-separated states a request may be approved in (the state table's guard, passed in);
--   activeState: the state it moves to; the activated event's expiresAt is filled in here (sent as 0);
--   approvalTimeoutMs, maxDurationMs, requiredApprovals, maxTotalMs: the current policy's, for this request's host
--   grant: the extended grant's hash (for a request that is no extension: the request's own, unused);
--   extendedEvent: the grant's audit event of an extension (its expiresAt is filled in here; sent as 0)
-- Returns: recorded(approvals, required) | activated(expiresAt) | extension-approved(grantId, expiresAt) | duplicate | self
--   | conflict(state) | missing | too-late(deadline) | too-long(durationMs) | grant-ended(state) | over-total(totalMs)
-- #include audit-append
-- #include extend-grant
-- #include shorter-approval
local state = redis.call('HGET', KEY.request, 'state')
if not state then return {'missing'} end
local allowed = false
for s in string.gmatch(ARG.allowedFrom, '[^,]+') do if s == state then allowed = true end end
if not allowed then return {'conflict', state} end
local now = tonumber(ARG.now)
local deadline = tonumber(redis.call('HGET', KEY.request, 'createdAt')) + tonumber(ARG.approvalTimeoutMs)
if now >= deadline then return {'too-late', tostring(deadline)} end
if redis.call('HGET', KEY.request, 'requester') == ARG.approver then return {'self'} end
local approvers = cjson.decode(redis.call('HGET', KEY.request, 'approvers'))
for _, a in ipairs(approvers) do if a == ARG.approver then return {'duplicate'} end end
local durationMs = tonumber(redis.call('HGET', KEY.request, 'durationMs'))
if durationMs > tonumber(ARG.maxDurationMs) then return {'too-long', tostring(durationMs)} end
table.insert(approvers, ARG.approver)
local required = tonumber(ARG.requiredApprovals)
local extends = redis.call('HGET', KEY.request, 'extends')
if extends and #approvers >= required then
  local refused = extensionRefusal(KEY.grant, ARG.activeState, durationMs, tonumber(ARG.maxTotalMs), now)
  if refused then return refused end
end
redis.call('HSET', KEY.request, 'approvers', cjson.encode(approvers), 'requiredApprovals', ARG.requiredApprovals)
local grantMs = durationMs
if not extends then grantMs = shortestApproval(KEY.request, durationMs, tonumber(ARG.approvedMs), ARG.approver) end
if #approvers < required then
  auditAppend(KEY.auditStream, withShortening(ARG.recordedEvent, KEY.request, durationMs, grantMs), state)
  return {'recorded', tostring(#approvers), ARG.requiredApprovals}
end
if extends then
  local grantExpiresAt = extendGrant(KEY.grant, KEY.activeGrants, durationMs)
  -- The extension records the end it moved the grant to.
  redis.call('HSET', KEY.request, 'state', ARG.extendedState, 'endedAt', ARG.now, 'expiresAt', tostring(grantExpiresAt))
  redis.call('ZREM', KEY.pendingRequests, redis.call('HGET', KEY.request, 'id'))
  redis.call('HDEL', KEY.grant, 'pendingExtension')
  auditAppend(KEY.auditStream, ARG.approvedEvent, state)
  auditAppend(KEY.auditStream, auditWithNumber(ARG.extendedEvent, 'expiresAt', grantExpiresAt), ARG.activeState)
  return {'extension-approved', extends, tostring(grantExpiresAt)}
end
local expiresAt = now + grantMs
redis.call('HSET', KEY.request, 'state', ARG.activeState, 'activatedAt', ARG.now, 'expiresAt', tostring(expiresAt))
local id = redis.call('HGET', KEY.request, 'id')
redis.call('ZADD', KEY.activeGrants, expiresAt, id)
redis.call('ZREM', KEY.pendingRequests, id)
redis.call('ZADD', KEY.activating, now, id)
auditAppend(KEY.auditStream, withShortening(ARG.approvedEvent, KEY.request, durationMs, grantMs), state)
auditAppend(KEY.auditStream, auditWithNumber(withShortening(ARG.activatedEvent, KEY.request, durationMs, grantMs), 'expiresAt', expiresAt), state)
return {'activated', tostring(expiresAt)}

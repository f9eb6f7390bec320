-- Records one owner's approval; the last required approval activates the grant in the same step (the clock
-- starts now, not when the request was made). The new grant enters the activating index: its follow-up
-- (revoke job, sync, connect instructions) is owed until done, by this replica or the reconciler.
-- The current policy is checked in the same step, so nothing approves what it would refuse now: the approval
-- deadline (createdAt + approvalTimeoutMs: a late or lost time-out job must not leave the request approvable),
-- the host's maximum duration (a request over it is refused, not clamped: the requester asked for that time),
-- and the host's required approvals (a raised count is stored, so this approval is recorded and more are needed).
-- KEYS: request, auditStream, activeGrants, pendingRequests, activating
-- ARGV: approver, now, allowedFrom, activeState, recordedEvent, approvedEvent, activatedEvent, approvalTimeoutMs, maxDurationMs, requiredApprovals
--   allowedFrom: comma-separated states a request may be approved in (the state table's guard, passed in);
--   activeState: the state it moves to; the activated event's expiresAt is filled in here;
--   approvalTimeoutMs, maxDurationMs, requiredApprovals: the current policy's, for this request's host
-- Returns: recorded(approvals, required) | activated(expiresAt) | duplicate | self | conflict(state) | missing
--   | too-late(deadline) | too-long(durationMs)
-- #include audit-append
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
redis.call('HSET', KEY.request, 'approvers', cjson.encode(approvers), 'requiredApprovals', ARG.requiredApprovals)
local required = tonumber(ARG.requiredApprovals)
if #approvers < required then
  auditAppend(KEY.auditStream, ARG.recordedEvent, state)
  return {'recorded', tostring(#approvers), ARG.requiredApprovals}
end
local expiresAt = now + durationMs
redis.call('HSET', KEY.request, 'state', ARG.activeState, 'activatedAt', ARG.now, 'expiresAt', tostring(expiresAt))
local id = redis.call('HGET', KEY.request, 'id')
redis.call('ZADD', KEY.activeGrants, expiresAt, id)
redis.call('ZREM', KEY.pendingRequests, id)
redis.call('ZADD', KEY.activating, now, id)
auditAppend(KEY.auditStream, ARG.approvedEvent, state)
local activated = cjson.decode(ARG.activatedEvent)
activated['expiresAt'] = expiresAt
auditAppend(KEY.auditStream, cjson.encode(activated), state)
return {'activated', tostring(expiresAt)}

// Every multi-key change is one Lua script, so two replicas or two clicks can never interleave.
// Each script appends its audit event(s) to the audit stream in the same atomic step.

/**
 * KEYS: request hash, audit stream, active-grants zset of its jump host, ended-grants zset of its jump host,
 *       pending-requests zset, activating zset
 * ARGV: allowed-from-states (comma list), to-state, audit event JSON, zset op ('add'|'rem'|'-'), zset score
 *       (expiry for 'add', end time for 'rem'), then field/value pairs to set
 * Keeps the indexes the reconciler relies on in step: a request leaves the pending index when it is decided,
 * a grant leaving `active` is remembered as ended until a sync has taken its line out.
 * Returns {'ok', from} | {'conflict', state} | {'missing'}
 */
export const TRANSITION = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == state then allowed = true end end
if not allowed then return {'conflict', state} end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
local id = redis.call('HGET', KEYS[1], 'id')
if state == 'pending' then redis.call('ZREM', KEYS[5], id) end
if ARGV[4] == 'add' then
  redis.call('ZADD', KEYS[3], ARGV[5], id)
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[6], 'NX', t[1] * 1000 + math.floor(t[2] / 1000), id)
elseif ARGV[4] == 'rem' then
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], ARGV[5], id)
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', 'e', ARGV[3], 'from', state)
return {'ok', state}
`;

/**
 * Records one owner's approval; the last required approval activates the grant in the same step
 * (the clock starts now, not when the request was made). The new grant enters the activating index: its
 * follow-up (revoke job, sync, connect instructions) is owed until done, by this replica or the reconciler.
 * KEYS: request hash, audit stream, active-grants zset, pending-requests zset, activating zset
 * ARGV: approver, now, approval-recorded event JSON, approved event JSON, activated event JSON
 *       (the activated event's expiresAt is filled in here)
 * Returns {'recorded', count} | {'activated', expiresAt} | {'duplicate'} | {'self'} | {'conflict', state} | {'missing'}
 */
export const APPROVE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'pending' then return {'conflict', state} end
local approver = ARGV[1]
if redis.call('HGET', KEYS[1], 'requester') == approver then return {'self'} end
local approvers = cjson.decode(redis.call('HGET', KEYS[1], 'approvers'))
for _, a in ipairs(approvers) do if a == approver then return {'duplicate'} end end
table.insert(approvers, approver)
redis.call('HSET', KEYS[1], 'approvers', cjson.encode(approvers))
local required = tonumber(redis.call('HGET', KEYS[1], 'requiredApprovals'))
if #approvers < required then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', 'e', ARGV[3], 'from', state)
  return {'recorded', tostring(#approvers)}
end
local now = tonumber(ARGV[2])
local expiresAt = now + tonumber(redis.call('HGET', KEYS[1], 'durationMs'))
redis.call('HSET', KEYS[1], 'state', 'active', 'approvedAt', ARGV[2], 'activatedAt', ARGV[2], 'expiresAt', tostring(expiresAt))
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('ZADD', KEYS[3], expiresAt, id)
redis.call('ZREM', KEYS[4], id)
redis.call('ZADD', KEYS[5], now, id)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', 'e', ARGV[4], 'from', 'pending')
local activated = cjson.decode(ARGV[5])
activated['expiresAt'] = expiresAt
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', 'e', cjson.encode(activated), 'from', 'approved')
return {'activated', tostring(expiresAt)}
`;

/**
 * Registers a person's key; one key per person, and no key may belong to two people.
 * KEYS: user key hash, owner-by-fingerprint key of the new key, audit stream
 * ARGV: user, line, fingerprint, type, now, event JSON (type filled in here: key-registered / key-replaced),
 *       prefix of owner-by-fingerprint keys (to release the previous key)
 * Returns {'ok', previousFingerprint or ''} | {'taken'}
 */
export const SET_KEY = `
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[1] then return {'taken'} end
local previous = redis.call('HGET', KEYS[1], 'fingerprint') or ''
if previous ~= '' and previous ~= ARGV[3] then
  redis.call('DEL', ARGV[7] .. previous)
end
redis.call('HSET', KEYS[1], 'line', ARGV[2], 'fingerprint', ARGV[3], 'type', ARGV[4], 'addedAt', ARGV[5])
redis.call('SET', KEYS[2], ARGV[1])
local event = cjson.decode(ARGV[6])
if previous == '' then event['type'] = 'key-registered' else event['type'] = 'key-replaced' end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '1000000', '*', 'e', cjson.encode(event), 'from', '')
return {'ok', previous}
`;

/**
 * Removes a person's key and releases its fingerprint.
 * KEYS: user key hash, audit stream
 * ARGV: event JSON (detail filled in here with the removed key's type and fingerprint), prefix of owner-by-fingerprint keys
 * Returns {'ok', fingerprint} | {'none'}
 */
export const REMOVE_KEY = `
local fingerprint = redis.call('HGET', KEYS[1], 'fingerprint')
if not fingerprint then return {'none'} end
local keyType = redis.call('HGET', KEYS[1], 'type') or ''
redis.call('DEL', KEYS[1], ARGV[2] .. fingerprint)
local event = cjson.decode(ARGV[1])
event['detail'] = keyType .. ' ' .. fingerprint
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', 'e', cjson.encode(event), 'from', '')
return {'ok', fingerprint}
`;

/**
 * Sliding-window rate limit: one sorted-set entry per allowed action, scored by its time.
 * KEYS: the window's sorted set, the "already told" marker
 * ARGV: now (ms), window (ms), limit, unique member for this action
 * Returns {'ok', count} | {'limited', retryAfterMs, firstRefusalInWindow (1|0)}
 */
export const RATE_LIMIT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local retry = window
  if oldest[2] then retry = tonumber(oldest[2]) + window - now end
  local first = 0
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', math.max(1, retry)) then first = 1 end
  return {'limited', tostring(math.max(1, retry)), tostring(first)}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {'ok', tostring(count + 1)}
`;

/**
 * Creates a request unless its requester already has `max` requests pending (checked in the same atomic step,
 * so two simultaneous requests cannot both take the last place).
 * KEYS: request hash, requester's request zset, audit stream, index of pending requests
 * ARGV: max pending, how many of the requester's latest requests to look at, request hash key prefix,
 *       createdAt, id, audit event JSON, then field/value pairs of the request
 * Returns {'ok'} | {'capped', pendingCount}
 */
export const CREATE_CAPPED = `
local pending = 0
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)) do
  if redis.call('HGET', ARGV[3] .. id, 'state') == 'pending' then pending = pending + 1 end
end
if pending >= tonumber(ARGV[1]) then return {'capped', tostring(pending)} end
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '1000000', '*', 'e', ARGV[6], 'from', '')
return {'ok'}
`;

/**
 * Releases a lock only if this holder still has it (a lock that expired and was taken by another is left alone).
 * KEYS: lock; ARGV: token
 */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Extends a lock's lease if this holder still has it. KEYS: lock; ARGV: token, lease ms */
export const RENEW_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

-- Marks a local date's digest posted, moves the window's end on (never back) and lets the lease go if held.
-- KEYS: day, lease, windowEnd
-- ARGV: token, keepMs, upTo
-- Returns: ok
redis.call('SET', KEY.day, 'posted', 'PX', ARG.keepMs)
local last = tonumber(redis.call('GET', KEY.windowEnd) or '0')
if tonumber(ARG.upTo) > last then redis.call('SET', KEY.windowEnd, ARG.upTo) end
if redis.call('GET', KEY.lease) == ARG.token then redis.call('DEL', KEY.lease) end
return {'ok'}

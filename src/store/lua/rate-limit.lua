-- Sliding-window rate limit: one sorted-set entry per allowed action, scored by its time.
-- KEYS: window, notice
-- ARGV: now, windowMs, limit, member
--   window: the sorted set; notice: the "already told" marker; now in ms; member: unique per action
-- Returns: ok(count) | limited(retryAfterMs, firstRefusal: '1' for the first refusal in this window, else '0')
local now = tonumber(ARG.now)
local window = tonumber(ARG.windowMs)
redis.call('ZREMRANGEBYSCORE', KEY.window, '-inf', now - window)
local count = redis.call('ZCARD', KEY.window)
if count >= tonumber(ARG.limit) then
  local oldest = redis.call('ZRANGE', KEY.window, 0, 0, 'WITHSCORES')
  local retry = window
  if oldest[2] then retry = tonumber(oldest[2]) + window - now end
  local first = 0
  if redis.call('SET', KEY.notice, '1', 'NX', 'PX', math.max(1, retry)) then first = 1 end
  return {'limited', tostring(math.max(1, retry)), tostring(first)}
end
redis.call('ZADD', KEY.window, now, ARG.member)
redis.call('PEXPIRE', KEY.window, window)
return {'ok', tostring(count + 1)}

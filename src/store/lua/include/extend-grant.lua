-- Extending an active grant: its end moves `durationMs` later, if its time is not up at `now` and it would
-- then last at most `maxTotalMs` from its activation. The grant's hash (expiresAt, extendedMs) and its score in
-- the active-grants index change together: the next sync renders the later expiry-time on the same line (never
-- removed and re-added), and the revoke job, finding the grant not due, waits for the new end.
-- extensionRefusal: nil if the grant may be extended so, else the reply that says why not:
--   {'grant-ended', state} | {'over-total', totalMs}
local function extensionRefusal(grantKey, activeState, durationMs, maxTotalMs, now)
  local g = redis.call('HMGET', grantKey, 'state', 'expiresAt', 'activatedAt')
  if g[1] ~= activeState or not g[2] or tonumber(g[2]) <= now then return {'grant-ended', g[1] or 'missing'} end
  local total = tonumber(g[2]) - tonumber(g[3] or g[2]) + durationMs
  if total > maxTotalMs then return {'over-total', tostring(total)} end
  return nil
end

-- Moves the end (checked first with extensionRefusal); returns the new expiresAt.
local function extendGrant(grantKey, activeGrantsKey, durationMs)
  local g = redis.call('HMGET', grantKey, 'expiresAt', 'extendedMs', 'id')
  local expiresAt = tonumber(g[1]) + durationMs
  redis.call('HSET', grantKey, 'expiresAt', tostring(expiresAt), 'extendedMs', tostring(tonumber(g[2] or '0') + durationMs))
  redis.call('ZADD', activeGrantsKey, expiresAt, g[3])
  return expiresAt
end

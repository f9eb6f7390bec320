-- Shorter approvals (domain/shorter-approval.ts): an approver may approve for less than asked; the grant lasts
-- the shortest time any approver chose. The words match formatDuration and shortenedDetail there.
local function formatDurationMs(ms)
  local rest = math.floor(ms / 1000 + 0.5) * 1000
  local out = ''
  for _, u in ipairs({{'d', 86400000}, {'h', 3600000}, {'m', 60000}, {'s', 1000}}) do
    local n = math.floor(rest / u[2])
    if n > 0 then
      out = out .. string.format('%d', n) .. u[1]
      rest = rest - n * u[2]
    end
  end
  if out == '' then return '0s' end
  return out
end

-- Keeps the running minimum in the request (`approvedMs`, and `shortenedBy`: who chose it) when `chosen` is
-- shorter than asked and than any earlier choice. Returns the time the grant lasts.
local function shortestApproval(requestKey, askedMs, chosen, approver)
  local shortest = tonumber(redis.call('HGET', requestKey, 'approvedMs'))
  if chosen and chosen < askedMs and (not shortest or chosen < shortest) then
    shortest = chosen
    redis.call('HSET', requestKey, 'approvedMs', string.format('%d', chosen), 'shortenedBy', approver)
  end
  return shortest or askedMs
end

-- An approval's audit event (canonical JSON, in and out) says the grant's time and that it was shortened, and by whom.
local function withShortening(eventJson, requestKey, askedMs, grantMs)
  if grantMs >= askedMs then return eventJson end
  local event = cjson.decode(eventJson)
  event['durationMs'] = grantMs
  event['detail'] = 'approved for ' .. formatDurationMs(grantMs) .. ' of ' .. formatDurationMs(askedMs) .. ' asked (shortened by '
    .. redis.call('HGET', requestKey, 'shortenedBy') .. ')'
  return auditCanonical(event)
end

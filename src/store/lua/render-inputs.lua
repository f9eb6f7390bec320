-- What a sync renders from, in one round trip: the jump server's active grants (ended after `after`, exclusive)
-- as their whole hashes, and the key line of each grant's requester. Read only.
-- KEYS: activeGrants
-- ARGV: after, requestPrefix, userKeyPrefix
--   requestPrefix .. id is a request's hash, userKeyPrefix .. user a person's key (same hash tag as the KEYS)
-- Returns: ok(json) with json = {"grants": [[field, value, ...], ...], "lines": [user, line, ...]}
local ids = redis.call('ZRANGEBYSCORE', KEY.activeGrants, '(' .. ARG.after, '+inf')
local grants, lines, seen = {}, {}, {}
for _, id in ipairs(ids) do
  local hash = redis.call('HGETALL', ARG.requestPrefix .. id)
  if #hash > 0 then
    grants[#grants + 1] = hash
    local requester
    for i = 1, #hash, 2 do
      if hash[i] == 'requester' then requester = hash[i + 1] end
    end
    if requester and not seen[requester] then
      seen[requester] = true
      local line = redis.call('HGET', ARG.userKeyPrefix .. requester, 'line')
      if line then
        lines[#lines + 1] = requester
        lines[#lines + 1] = line
      end
    end
  end
end
-- cjson writes an empty table as {}: the reader takes either for an empty list.
return {'ok', cjson.encode({ grants = grants, lines = lines })}

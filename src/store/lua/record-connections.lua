-- What one read of a jump server's sshd log changed, stored at once with the position it read up to: a crash
-- before this leaves nothing half-recorded, and the next read starts from the old position and finds the same.
-- Records are idempotent by id (monitor pid + accepted time), so a line read twice never counts twice.
-- KEYS: logPosition, liveConnections, auditStream, targetsLogged, pendingTunnels
-- ARGV: position, pending, records, events, connectionPrefix, keyConnectionsPrefix, endedTtlSeconds, targetsSeen
-- position: '' to leave it as it is (the broker ended connections, nothing was read)
-- pending: JSON of the tunnel lines carried past the position ('' for none); stored only with a position
-- records: JSON [{id, json, fingerprint, startedAt, ended}]; events: JSON [{connection (id or ''), event (canonical JSON)}]
-- Returns: ok
-- #include audit-append
-- An event tied to a connection is appended only with that connection's first record: a read that sees the
-- same login again (after a crash between reading and storing) raises nothing twice.
local existed = {}
for _, r in ipairs(cjson.decode(ARG.records)) do
  local key = ARG.connectionPrefix .. r.id
  local old = redis.call('GET', key)
  existed[r.id] = old ~= false
  -- A connection once ended stays ended: the broker ends one whose killed child logs no end line, and a
  -- later read of its older lines must not bring it back to life.
  local stays_ended = old and not r.ended and cjson.decode(old).endedAt ~= nil
  if not stays_ended then
    if r.ended then
      redis.call('SET', key, r.json, 'EX', tonumber(ARG.endedTtlSeconds))
      redis.call('SREM', KEY.liveConnections, r.id)
    else
      redis.call('SET', key, r.json)
      redis.call('SADD', KEY.liveConnections, r.id)
    end
    local byKey = ARG.keyConnectionsPrefix .. r.fingerprint
    redis.call('ZADD', byKey, r.startedAt, r.id)
    -- the index lives as long as the records it points to
    redis.call('ZREMRANGEBYSCORE', byKey, '-inf', '(' .. (r.startedAt - tonumber(ARG.endedTtlSeconds) * 1000))
    redis.call('EXPIRE', byKey, tonumber(ARG.endedTtlSeconds))
  end
end
for _, e in ipairs(cjson.decode(ARG.events)) do
  if e.connection == '' or not existed[e.connection] then auditAppend(KEY.auditStream, e.event, '') end
end
if ARG.targetsSeen == '1' then redis.call('SET', KEY.targetsLogged, '1') end
if ARG.position ~= '' then
  redis.call('SET', KEY.logPosition, ARG.position)
  if ARG.pending ~= '' then redis.call('SET', KEY.pendingTunnels, ARG.pending) else redis.call('DEL', KEY.pendingTunnels) end
end
return {'ok'}

-- Registers a person's key; one key per person, and no key may belong to two people.
-- KEYS: userKey, keyOwner, auditStream
-- ARGV: user, line, fingerprint, type, now, event, keyOwnerPrefix
--   keyOwner: the owner-by-fingerprint key of the new key; keyOwnerPrefix + fingerprint is that of the
--   previous key, released here (same hash tag as the KEYS); the event's type is filled in here
--   (key-added or key-replaced)
-- Returns: ok(previousFingerprint, '' if none) | taken
-- #include audit-append
local owner = redis.call('GET', KEY.keyOwner)
if owner and owner ~= ARG.user then return {'taken'} end
local previous = redis.call('HGET', KEY.userKey, 'fingerprint') or ''
if previous ~= '' and previous ~= ARG.fingerprint then
  redis.call('DEL', ARG.keyOwnerPrefix .. previous)
end
redis.call('HSET', KEY.userKey, 'line', ARG.line, 'fingerprint', ARG.fingerprint, 'type', ARG.type, 'addedAt', ARG.now)
redis.call('SET', KEY.keyOwner, ARG.user)
local event = cjson.decode(ARG.event)
if previous == '' then event['type'] = 'key-added' else event['type'] = 'key-replaced' end
auditAppend(KEY.auditStream, auditCanonical(event), '')
return {'ok', previous}

-- Removes a person's key and releases its fingerprint.
-- KEYS: userKey, auditStream
-- ARGV: event, keyOwnerPrefix
--   the event's detail is filled in here (the removed key's type and fingerprint);
--   keyOwnerPrefix + fingerprint is the owner-by-fingerprint key (same hash tag as the KEYS)
-- Returns: ok(fingerprint) | none
-- #include audit-append
local fingerprint = redis.call('HGET', KEY.userKey, 'fingerprint')
if not fingerprint then return {'none'} end
local keyType = redis.call('HGET', KEY.userKey, 'type') or ''
redis.call('DEL', KEY.userKey, ARG.keyOwnerPrefix .. fingerprint)
local event = cjson.decode(ARG.event)
event['detail'] = keyType .. ' ' .. fingerprint
auditAppend(KEY.auditStream, auditCanonical(event), '')
return {'ok', fingerprint}

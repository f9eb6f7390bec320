-- An owner acknowledges a break-glass grant (its post-hoc review): once, by the first owner to click; the grant
-- leaves the index of reviews due, and the acknowledgement is audited in the same step.
-- KEYS: request, reviews, auditStream
-- ARGV: actor, now, event
-- Returns: ok | already(acknowledgedBy) | not-break-glass | missing
-- #include audit-append
local g = redis.call('HMGET', KEY.request, 'id', 'reviewBy', 'acknowledgedBy', 'state')
if not g[1] then return {'missing'} end
if not g[2] then return {'not-break-glass'} end
if g[3] then return {'already', g[3]} end
redis.call('HSET', KEY.request, 'acknowledgedBy', ARG.actor, 'acknowledgedAt', ARG.now)
redis.call('ZREM', KEY.reviews, g[1])
auditAppend(KEY.auditStream, ARG.event, g[4])
return {'ok'}

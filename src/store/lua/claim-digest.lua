-- Claims a local date's digest for one replica. The day's key says whether any replica started it ("claimed")
-- or finished it ("posted"); the lease says one is at it now. A claimed day without a lease is a replica that
-- died (or failed) between claim and mark: whoever claims it next must first look whether its post landed.
-- KEYS: day, lease
-- ARGV: token, leaseMs, keepMs
-- Returns: fresh (never started: post) | retry (started before: look in Slack, then post) | busy | posted
if redis.call('GET', KEY.day) == 'posted' then return {'posted'} end
if not redis.call('SET', KEY.lease, ARG.token, 'PX', ARG.leaseMs, 'NX') then return {'busy'} end
if redis.call('SET', KEY.day, 'claimed', 'PX', ARG.keepMs, 'NX') then return {'fresh'} end
return {'retry'}

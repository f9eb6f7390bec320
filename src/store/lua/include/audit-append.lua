-- Appends one audit event to the audit stream: the only place that writes it. Included by every script that
-- changes state, so the event is stored in the same atomic step as the change it describes.
-- Retention: about the last 1,000,000 entries (MAXLEN ~ trims whole stream nodes, so a little more stays).
-- `from`: the request's state before this change; '' for events outside a request's life (keys, refusals,
-- alerts).
local function auditAppend(stream, event, from)
  redis.call('XADD', stream, 'MAXLEN', '~', '1000000', '*', 'e', event, 'from', from)
end

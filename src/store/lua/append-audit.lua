-- An audit event that goes with no state change (a refused action, an alert).
-- KEYS: auditStream
-- ARGV: event
-- Returns: ok
-- #include audit-append
auditAppend(KEY.auditStream, ARG.event, '')
return {'ok'}

-- run_now: move one SCHEDULED or RETRYING job to its ready list at once.
--
-- ARGV[A]  job id
--
-- Returns {state after the call, 1 if this call moved it else 0}; {'missing', 0} for an
-- unknown job. Jobs in any other state are left as they are.
local id = ARGV[A]
local f = redis.call('HMGET', P_JOB .. id, 'state', 'prio', 'type', 'attempt')
local state = f[1]
if not state then return {'missing', 0} end
local set = ({scheduled = K_SCHEDULED, retrying = K_RETRY})[state]
if not set or redis.call('ZREM', set, id) == 0 then return {state, 0} end
make_ready(id, prio_of(f[2]), f[3], false)
record(id, f[3], state, 'enqueued', f[4], nil, nil)
announce()
return {'enqueued', 1}

-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- run_now: move one SCHEDULED or RETRYING job to its ready list at once.
--
-- ARGV[A]  id (str): job id
--
-- Returns:
--   {state, moved}
local id = ARGV[A]
check_argc(A)
-- contract:end
--
-- Jobs in any other state are left as they are.
local f = redis.call('HMGET', P_JOB .. id, 'state', 'prio', 'type', 'attempt')
local state = f[1]
if not state then return {'missing', 0} end
local set = ({scheduled = K_SCHEDULED, retrying = K_RETRY})[state]
if not set or redis.call('ZREM', set, id) == 0 then return {state, 0} end
make_ready(id, prio_of(f[2]), f[3], false)
record(id, f[3], state, 'enqueued', f[4], nil, nil)
announce()
return {'enqueued', 1}

-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- cancel: cancel a job that has not reached a final state.
--
-- ARGV[A]  id (str): job id
-- ARGV[A + 1]  retention (int, ms): retention of finished jobs
--
-- Returns:
--   {state, cancelled}
local id = ARGV[A]
local retention = num_arg(A + 1, 'retention')
check_argc(A + 1)
-- contract:end
--
-- An ACTIVE job loses its lease at once (its worker's later ack is refused) and its
-- worker is told on the control channel ("c <worker> <job>") to stop the handler.
-- A cancelled job submits none of its follow-ups; a cancelled group member counts as
-- final in its group (which may then complete).
local jk = P_JOB .. id
local f = redis.call('HMGET', jk, 'state', 'prio', 'type', 'wid', 'attempt', 'grp')
local state = f[1]
if not state then return {'missing', 0} end
if state == 'succeeded' or state == 'dead' or state == 'cancelled' then return {state, 0} end
if state == 'scheduled' then
  redis.call('ZREM', K_SCHEDULED, id)
elseif state == 'retrying' then
  redis.call('ZREM', K_RETRY, id)
elseif state == 'enqueued' then
  redis.call('LREM', ready_key(prio_of(f[2]), f[3]), 1, id)
elseif state == 'active' then
  drop_lease(id, f[4], f[3])
  control('c', f[4], id)
end
redis.call('HSET', jk, 'state', 'cancelled', 'finished', NOW)
redis.call('ZADD', K_FINISHED, NOW, id)
record(id, f[3], state, 'cancelled', f[5], f[4], nil)
if f[6] then member_final(f[6], id, f[3], 'cancelled', nil, nil) end
redis.call('PEXPIRE', jk, retention)
redis.call('PEXPIRE', P_HIST .. id, retention)
announce()
return {'cancelled', 1}

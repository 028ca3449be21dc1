-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- requeue_dead: move DEAD jobs back to the end of their ready lists, attempts reset.
--
-- ARGV[A]  n: number of job ids, then n records of 1:
--   job_id (str): job id
--
-- Returns:
--   the number of jobs requeued
local n = num_arg(A, 'n')
local IDS_AT = A + 1
local function id_at(i) return ARGV[IDS_AT + i - 1] end
check_argc(IDS_AT + n - 1)
-- contract:end
--
-- Ids not in the DLQ are skipped. A member of a group that still runs is no longer
-- counted final there: the group waits for its new outcome.
local moved = 0
for i = 1, n do
  local id = id_at(i)
  if redis.call('ZREM', K_DEAD, id) == 1 then
    local jk = P_JOB .. id
    local f = redis.call('HMGET', jk, 'prio', 'type', 'state', 'grp')
    if f[3] == 'dead' then
      redis.call('HSET', jk, 'attempt', 0)
      redis.call('HDEL', jk, 'finished')
      make_ready(id, prio_of(f[1]), f[2], false)
      record(id, f[2], 'dead', 'enqueued', 0, nil, nil)
      if f[4] then member_requeued(f[4], id) end
      moved = moved + 1
    end
  end
end
announce()
return moved

-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- purge_dead: delete DEAD jobs for good.
--
-- ARGV[A]  n: number of job ids, then n records of 1:
--   job_id (str): job id
--
-- Returns:
--   the number of jobs deleted
local n = num_arg(A, 'n')
local IDS_AT = A + 1
local function id_at(i) return ARGV[IDS_AT + i - 1] end
check_argc(IDS_AT + n - 1)
-- contract:end
--
-- Ids not in the DLQ are skipped. A job's idempotency key is released with it, so a
-- repeat submit creates a new job instead of naming one that no longer exists.
local purged = 0
for i = 1, n do
  local id = id_at(i)
  if redis.call('ZREM', K_DEAD, id) == 1 then
    local idem = redis.call('HGET', P_JOB .. id, 'idem')
    if idem and redis.call('GET', P_IDEM .. idem) == id then
      redis.call('DEL', P_IDEM .. idem)
    end
    redis.call('DEL', P_JOB .. id, P_HIST .. id)
    redis.call('ZREM', K_IDS, id)
    purged = purged + 1
  end
end
return purged

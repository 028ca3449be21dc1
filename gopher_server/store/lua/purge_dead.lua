-- purge_dead: delete DEAD jobs for good.
--
-- ARGV[A]  n, then n job ids
--
-- Ids not in the DLQ are skipped. A job's idempotency key is released with it, so a
-- repeat submit creates a new job instead of naming one that no longer exists.
-- Returns the number of jobs deleted.
local n = tonumber(ARGV[A])
local purged = 0
for i = 1, n do
  local id = ARGV[A + i]
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

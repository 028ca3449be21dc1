-- purge_dead: delete DEAD jobs for good.
--
-- ARGV[A]  n, then n job ids
--
-- Ids not in the DLQ are skipped. Returns the number of jobs deleted.
local n = tonumber(ARGV[A])
local purged = 0
for i = 1, n do
  local id = ARGV[A + i]
  if redis.call('ZREM', K_DEAD, id) == 1 then
    redis.call('DEL', P_JOB .. id, P_HIST .. id)
    purged = purged + 1
  end
end
return purged

-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- trim_finished: delete the oldest finished jobs beyond a count.
--
-- ARGV[A]  keep (int): most finished jobs to keep
-- ARGV[A + 1]  batch (int): most jobs to delete in this call
--
-- Returns:
--   the number of jobs deleted
local keep = num_arg(A, 'keep')
local batch = num_arg(A + 1, 'batch')
check_argc(A + 1)
-- contract:end
--
-- Finished: succeeded or cancelled. Memory stays bounded under any load, not only by
-- retention time; the batch bounds the script's run time.
-- An idempotency key still naming a deleted job is deleted with it, so a repeat
-- submit creates a new job instead of returning one that no longer exists.
local excess = redis.call('ZCARD', K_FINISHED) - keep
if excess <= 0 then return 0 end
if excess > batch then excess = batch end
local ids = redis.call('ZRANGE', K_FINISHED, 0, excess - 1)
for _, id in ipairs(ids) do
  local idem = redis.call('HGET', P_JOB .. id, 'idem')
  redis.call('DEL', P_JOB .. id, P_HIST .. id)
  redis.call('ZREM', K_IDS, id)
  if idem and redis.call('GET', P_IDEM .. idem) == id then
    redis.call('DEL', P_IDEM .. idem)
  end
end
redis.call('ZREM', K_FINISHED, unpack(ids))
return #ids

-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- promote: move due SCHEDULED and RETRYING jobs to their ready lists.
--
-- ARGV[A]  limit (int): most jobs to move per set in this call
--
-- Returns:
--   the number of jobs moved
local limit = num_arg(A, 'limit')
check_argc(A)
-- contract:end
--
-- The limit bounds the script's run time so a large due backlog never stalls dispatch.
local moved = 0
for _, set in ipairs({K_SCHEDULED, K_RETRY}) do
  local ids = redis.call('ZRANGEBYSCORE', set, '-inf', NOW, 'LIMIT', 0, limit)
  if #ids > 0 then
    redis.call('ZREM', set, unpack(ids))
    for _, id in ipairs(ids) do
      local f = redis.call('HMGET', P_JOB .. id, 'state', 'prio', 'type', 'attempt', 'hn')
      if f[1] == 'scheduled' or f[1] == 'retrying' then
        make_ready(id, prio_of(f[2]), f[3], false)
        record(id, f[3], f[1], 'enqueued', f[4], nil, nil, nil, f[5])
        moved = moved + 1
      end
    end
  end
end
announce()
return moved

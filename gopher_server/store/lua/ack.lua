-- ack: complete ACTIVE jobs whose lease token matches.
--
-- ARGV[A]    retention of finished jobs, ms (the job hash and history expire then)
-- ARGV[A+1]  n, number of acks
-- then n triples: job id, lease token, result JSON
--
-- A job with on_success follow-ups submits them in the same call (see follow_up() in
-- _final.lua); a repeated ack is stale, so they are made exactly once. A group member
-- is counted in its group, and the last one submits the group's follow-ups (see
-- _groups.lua).
--
-- ARGV[A+2+3n ...] optional: a refill, the dispatch arguments of the acking worker's
--   stream (as dispatch.lua takes them). The call then also dispatches to it, as its
--   stream's own dispatch would, and that worker's freed slots are not announced.
--
-- Returns n pairs: code ('ok', 'stale' = not active or another lease's token, nothing
-- changed; 'missing' = no such job), job type ('' when missing); then the ids of the
-- workers whose slots were freed. With a refill: {that array, dispatch result as
-- dispatch_to() returns it}.
local retention = tonumber(ARGV[A])
local n = tonumber(ARGV[A + 1])
local out = {}
for i = 0, n - 1 do
  local b = A + 2 + i * 3
  local id, token, result = ARGV[b], ARGV[b + 1], ARGV[b + 2]
  local jk = P_JOB .. id
  local f = redis.call('HMGET', jk, 'state', 'token', 'wid', 'type', 'attempt', 'on_ok', 'grp')
  if not f[1] then
    out[#out + 1] = 'missing'
    out[#out + 1] = ''
  elseif f[1] ~= 'active' or f[2] ~= token then
    out[#out + 1] = 'stale'
    out[#out + 1] = f[4] or ''
  else
    drop_lease(id, f[3], f[4])
    redis.call('HDEL', K_HOLDS, f[3])
    redis.call('HSET', jk, 'state', 'succeeded', 'result', result, 'finished', NOW)
    redis.call('ZADD', K_FINISHED, NOW, id)
    record(id, f[4], 'active', 'succeeded', f[5], f[3], nil)
    follow_up(id, f[4], f[6], 'succeeded', 'result', result)
    if f[7] then member_final(f[7], id, f[4], 'succeeded', 'result', result) end
    redis.call('PEXPIRE', jk, retention)
    redis.call('PEXPIRE', P_HIST .. id, retention)
    out[#out + 1] = 'ok'
    out[#out + 1] = f[4]
  end
end
local refill = A + 2 + n * 3
if ARGV[refill] and ARGV[refill] ~= '' then
  local dispatched = dispatch_to(dispatch_args(refill))
  -- The refill already gave this worker what its freed slots could take.
  freed_workers[ARGV[refill]] = nil
  announce()
  return {with_freed(out), dispatched}
end
announce()
return with_freed(out)

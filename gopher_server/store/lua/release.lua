-- release: a worker's stream closed; recover the jobs leased through that stream.
--
-- ARGV[A]    worker id
-- ARGV[A+1]  stream session id
--
-- Jobs leased through other streams of the same worker are left alone. The attempt
-- stays counted (see lost() in _leases.lua).
-- A job that dies submits its on_failure follow-ups in the same call.
-- Returns a flat array of pairs: job id, new state ('enqueued' | 'dead').
local wid, sid = ARGV[A], ARGV[A + 1]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', P_INFLIGHT .. wid)) do
  local f = redis.call('HMGET', P_JOB .. id, 'state', 'sid', 'attempt', 'retries', 'prio', 'type')
  if f[1] ~= 'active' then
    redis.call('SREM', P_INFLIGHT .. wid, id)
  elseif f[2] == sid then
    local err = {type = 'WorkerLost', message = 'the worker stream closed before an answer',
      traceback = ''}
    out[#out + 1] = id
    out[#out + 1] = lost(id, 'active', f[3], retries_of(f[4]), wid, prio_of(f[5]), f[6], err)
  end
end
announce()
return out

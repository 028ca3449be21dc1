-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- release: a worker's stream closed; recover the jobs leased through it.
--
-- ARGV[A]  wid (str): worker id
-- ARGV[A + 1]  sid (str): stream session id
--
-- Returns:
--   pairs
--     record: job_id (str), state (str)
local wid = ARGV[A]
local sid = ARGV[A + 1]
check_argc(A + 1)
-- contract:end
--
-- Jobs leased through other streams of the same worker are left alone. The attempt
-- stays counted (see lost() in _leases.lua).
-- A job that dies submits its on_failure follow-ups in the same call.
-- New states: 'enqueued' | 'dead'.
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

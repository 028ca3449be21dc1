-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- expire: recover jobs whose lease deadline has passed.
--
-- ARGV[A]  limit (int): most jobs to recover in this call
-- ARGV[A + 1]  hold_ms (int, ms): hold of a worker presumed hung
-- ARGV[A + 2]  streams_prefix (str): stream heartbeat hash prefix (+ worker id)
-- ARGV[A + 3]  fresh_ms (int, ms): a heartbeat younger than this means a live stream
--
-- Returns:
--   pairs
--     record: job_id (str), state (str)
local limit = num_arg(A, 'limit')
local hold_ms = num_arg(A + 1, 'hold_ms')
local streams_prefix = ARGV[A + 2]
local fresh_ms = num_arg(A + 3, 'fresh_ms')
check_argc(A + 3)
-- contract:end
--
-- The worker died or hung.
--
-- The hold applies only when the lease's own stream is still alive and the worker has
-- no other live stream: then the worker is there but silent (hung). A lease that
-- expired because its broker died says nothing about the worker. Its old stream may
-- still look alive (heartbeats are seconds apart, leases can be shorter), but by then
-- the worker has opened a stream elsewhere, and holding it back would idle it.
--
-- Each recovered job counts the attempt it lost: it goes back to the front of its
-- queue, or to the DLQ when it has no retries left.
-- A job that dies submits its on_failure follow-ups in the same call.
-- New states: 'enqueued' | 'dead'.
local out = {}

local function presumed_hung(wid, sid)
  local beats = redis.call('HGETALL', streams_prefix .. wid)
  local own, other = false, false
  for i = 1, #beats, 2 do
    local alive = NOW - tonumber(beats[i + 1]) <= fresh_ms
    if beats[i] == sid then own = alive elseif alive then other = true end
  end
  return own and not other
end

local ids = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', NOW, 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', P_JOB .. id, 'state', 'deadline', 'attempt', 'retries',
    'wid', 'prio', 'type', 'sid')
  if f[1] ~= 'active' then
    redis.call('ZREM', K_LEASES, id)
  elseif tonumber(f[2]) <= NOW then
    local err = {type = 'LeaseExpired', message = 'lease expired before the worker answered',
      traceback = ''}
    local state = lost(id, 'active', f[3], retries_of(f[4]), f[5], prio_of(f[6]), f[7], err)
    if f[5] and f[5] ~= '' and f[8] and presumed_hung(f[5], f[8]) then
      redis.call('HSET', K_HOLDS, f[5], NOW + hold_ms)
    end
    out[#out + 1] = id
    out[#out + 1] = state
  end
end
announce()
return out

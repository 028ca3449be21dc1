-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- prune_holds: forget worker holds that can no longer matter.
--
-- ARGV[A]  streams_prefix (str): stream heartbeat hash prefix (+ worker id)
-- ARGV[A + 1]  fresh_ms (int, ms): a heartbeat younger than this means a live stream
--
-- Returns:
--   the number of holds removed
local streams_prefix = ARGV[A]
local fresh_ms = num_arg(A + 1, 'fresh_ms')
check_argc(A + 1)
-- contract:end
--
-- A hold is set when a draining worker hands a job back or a worker is presumed hung,
-- and cleared when that worker answers or opens a new stream. Worker ids are per
-- process, so a worker that exits never clears its own hold. An entry goes when its
-- time is over (dispatch already ignores it) or when its worker has no live stream
-- left: that worker is gone, and a worker that comes back clears its hold anyway.

local function has_live_stream(wid)
  local beats = redis.call('HVALS', streams_prefix .. wid)
  for _, beat in ipairs(beats) do
    if NOW - tonumber(beat) <= fresh_ms then return true end
  end
  return false
end

local holds = redis.call('HGETALL', K_HOLDS)
local gone = {}
for i = 1, #holds, 2 do
  local wid, until_ms = holds[i], tonumber(holds[i + 1]) or 0
  if until_ms <= NOW or not has_live_stream(wid) then gone[#gone + 1] = wid end
end
-- HDEL takes the ids in chunks: unpack() of a very long list overflows Lua's stack.
for s = 1, #gone, 1000 do
  redis.call('HDEL', K_HOLDS, unpack(gone, s, math.min(s + 999, #gone)))
end
return #gone

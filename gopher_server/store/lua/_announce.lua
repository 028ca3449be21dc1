-- Control-channel announcements (grammar: store/schema.py CONTROL_KINDS): a message
-- is the kind letter, then its arguments separated by single spaces.

-- Types that got ready work in this call, and workers that got a free slot: each is
-- announced once on the control channel at the end (see announce()).
local woken_types = {}
local freed_workers = {}

-- Publish one control message: kind letter, then one or two arguments.
local function control(kind, arg, last)
  local message = kind .. ' ' .. arg
  if last then message = message .. ' ' .. last end
  redis.call(PUBLISH, CTL, message)
end

-- `out` with the workers whose slots this call freed appended, so the broker that ran
-- the call can wake its own streams at once rather than after its copy of "s <worker>"
-- comes back through pub/sub.
local function with_freed(out)
  for wid, _ in pairs(freed_workers) do out[#out + 1] = wid end
  return out
end

-- Send the call's deferred writes (_batch.lua), then publish the collected wake-ups:
-- "w <type>" for new ready work, "s <worker>" for freed slots. Brokers route them to
-- their waiting streams.
local function announce()
  flush_writes()
  for jtype, _ in pairs(woken_types) do control('w', jtype) end
  for wid, _ in pairs(freed_workers) do control('s', wid) end
end

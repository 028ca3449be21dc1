-- Ready lists: one per priority and job type, oldest first; a type with ready work
-- is woken on the control channel (woken_types, _announce.lua).

local function ready_key(prio, jtype)
  return P_READY .. prio .. ':' .. jtype
end

-- Ready lists this call named in their priority's ready-types set already: that set
-- only grows (readers skip empty lists), so once per call is enough.
local ready_typed = {}

-- Put a job on its ready list (front = true for jobs handed back or recovered, which
-- already waited their turn once). The push is deferred (_batch.lua): a call's pushes
-- onto one list go out as one command, in the same order; dispatch_to() flushes before
-- it pops.
local function push_ready(id, prio, jtype, front)
  local rk = ready_key(prio, jtype)
  if front then
    later('LPUSH', rk, id)
  else
    later('RPUSH', rk, id)
  end
  if not ready_typed[rk] then
    ready_typed[rk] = true
    redis.call('SADD', P_TYPES .. prio, jtype)
  end
  woken_types[jtype] = true
end

local function make_ready(id, prio, jtype, front)
  push_ready(id, prio, jtype, front)
  redis.call('HSET', P_JOB .. id, 'state', 'enqueued', 'ready', NOW)
end

-- Ids a dispatch popped ahead from ready lists, per list key: {ids, next, dry}. One
-- LPOP with a count serves a whole call instead of one LPOP per job; what the call
-- did not take goes back to the front (put_back_unpopped), so the lists end exactly
-- as per-job pops would leave them. Nothing pushes onto a ready list while a dispatch
-- pops (scripts are atomic, and dispatch_to writes no ready list).
local popped_ahead = {}

-- The next id of ready list `rk`, or nil when it is empty; `want` is how many the call
-- may still take (one: a plain LPOP).
local function pop_ready(rk, want)
  local b = popped_ahead[rk]
  if b then
    if b.next <= #b.ids then
      b.next = b.next + 1
      return b.ids[b.next - 1]
    end
    if b.dry then return nil end
  end
  if want <= 1 then return redis.call('LPOP', rk) or nil end
  local ids = redis.call('LPOP', rk, want) or {}
  popped_ahead[rk] = {ids = ids, next = 2, dry = #ids < want}
  return ids[1]
end

-- Put the ids popped ahead and not taken back at the front of their lists, in order.
local function put_back_unpopped()
  for rk, b in pairs(popped_ahead) do
    local back = {}
    for i = #b.ids, b.next, -1 do back[#back + 1] = b.ids[i] end
    -- Last first: each LPUSH puts its ids before the ones pushed earlier.
    for s = 1, #back, 1000 do
      redis.call('LPUSH', rk, unpack(back, s, math.min(s + 999, #back)))
    end
  end
  popped_ahead = {}
end

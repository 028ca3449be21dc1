-- Ready lists: one per priority and job type, oldest first; a type with ready work
-- is woken on the control channel (woken_types, _announce.lua).

local function ready_key(prio, jtype)
  return P_READY .. prio .. ':' .. jtype
end

-- Put a job on its ready list (front = true for jobs handed back or recovered, which
-- already waited their turn once).
local function push_ready(id, prio, jtype, front)
  local rk = ready_key(prio, jtype)
  if front then
    redis.call('LPUSH', rk, id)
  else
    redis.call('RPUSH', rk, id)
  end
  redis.call('SADD', P_TYPES .. prio, jtype)
  woken_types[jtype] = true
end

local function make_ready(id, prio, jtype, front)
  push_ready(id, prio, jtype, front)
  redis.call('HSET', P_JOB .. id, 'state', 'enqueued', 'ready', NOW)
end

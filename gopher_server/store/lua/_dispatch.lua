-- Dispatch, shared by dispatch.lua, submit.lua (which hands new work straight to a
-- parked stream) and ack.lua (which refills the slots it freed): lease up to
-- (capacity - in-flight) ready jobs to one worker.
--
-- dispatch_to(wid, sid, capacity, default_lease, strict, pattern_text, grants_text,
-- types), the
-- values dispatch_args() (generated below) reads:
--   wid, sid       worker id, stream session id (streams release only their own leases)
--   capacity       worker capacity (max in-flight jobs)
--   default_lease  default lease TTL, ms
--   strict         true for strict priority order, false for weighted
--   pattern_text   comma-separated priorities, e.g. "high,normal,high,..."; in strict
--                  order, the priorities this call may serve, highest first
--   grants_text    "type=n,..." permits lent by the homes of limited types whose
--                  limits here are only a copy marked "g" (store/permits.py)
--   types          list of the job types the worker handles
--
-- Returns {jobs, wait_ms, rate_limited, limited_types}:
--   jobs: flat array of 14 fields per job (store/contracts.py LEASE_FIELDS): id,
--         type, priority, payload (whole: its
--         chunks joined, see split_payload in _job.lua), attempt,
--         retries, lease token, lease deadline ms, lease ms, timeout ms, created ms,
--         ready ms, trace JSON, parent job id ('' = none)
--   wait_ms: when > 0, a held-back type (rate limit, circuit breaker) may go again
--            in this many ms
--   rate_limited: how many times a type with ready work was held back by its limits
--   limited_types: those types
-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- dispatch_args(i): the dispatch arguments of a stream (dispatch_to in _dispatch.lua), from ARGV[i]:
--   wid (str): worker id
--   sid (str): stream session id (streams release only their own leases)
--   capacity (int): worker capacity (most in-flight jobs)
--   default_lease (int, ms): lease TTL of jobs without their own
--   strict (flag): strict priority order (else weighted)
--   pattern (str): weighted pattern: comma-separated priorities (strict: those served)
--   grants (str): permits lent by limited types' homes: 'type=n,...' ('' = none)
--   ntypes (int), then ntypes values: job types
-- Returns wid, sid, capacity, default_lease, strict, pattern, grants, types.
local function dispatch_args(i)
  local wid = ARGV[i]
  local sid = ARGV[i + 1]
  local capacity = num_arg(i + 2, 'capacity')
  local default_lease = num_arg(i + 3, 'default_lease')
  local strict = ARGV[i + 4] == '1'
  local pattern = ARGV[i + 5]
  local grants = ARGV[i + 6]
  local ntypes = num_arg(i + 7, 'ntypes')
  local types = {}
  for k = 1, ntypes do types[k] = ARGV[i + 7 + k] end
  check_argc(i + 7 + ntypes)
  return wid, sid, capacity, default_lease, strict, pattern, grants, types
end
-- contract:end

local function dispatch_to(wid, sid, capacity, default_lease, strict, pattern_text, grants_text,
    types)
  local pattern = {}
  for p in string.gmatch(pattern_text, '[^,]+') do pattern[#pattern + 1] = p end
  local grants = {}
  for t, n in string.gmatch(grants_text, '([^,=]+)=(%d+)') do grants[t] = tonumber(n) end
  local ntypes = #types
  -- What the call did before (an ack's freed slots, a submit's new jobs) is read below.
  flush_writes()
  local inflight = P_INFLIGHT .. wid
  local free = capacity - redis.call('SCARD', inflight)
  local jobs = {}
  if free <= 0 then return {jobs, 0, 0, {}} end
  local held_until = tonumber(redis.call('HGET', K_HOLDS, wid) or '0')
  if held_until > NOW then return {jobs, held_until - NOW, 0, {}} end

  local paused = {}
  for _, p in ipairs(redis.call('SMEMBERS', K_PAUSED)) do paused[p] = true end
  local ALL = {'high', 'normal', 'low'}
  local empty = {}     -- priority -> true: nothing eligible left in this call
  local blocked = {}   -- type -> true: over its limits for the rest of this call
  local limits = {}    -- type -> decoded limits, or false
  local wait_ms, rate_limited = 0, 0
  local limited_types = {}

  local EPS = 1e-9

  -- A type's limits (decoded once per call), or false when it has none.
  local function limits_of(t)
    local lim = limits[t]
    if lim == nil then
      local raw = redis.call('HGET', K_LIMITS, t)
      lim = raw and cjson.decode(raw) or false
      limits[t] = lim
    end
    return lim
  end

  -- Token bucket and concurrency check; consumes a token when it says yes.
  local function admit(t)
    local lim = limits_of(t)
    if not lim then return true end
    if lim.g then
      -- This partition is not the type's home: only what the home lent for this call.
      local lent = grants[t] or 0
      if lent <= 0 then return false end
      grants[t] = lent - 1
      return true
    end
    if lim.c > 0 then
      -- At home, leases held elsewhere under permits count against the cap too.
      local held = tonumber(redis.call('HGET', K_ACTIVE, t) or '0')
      held = held + pending_hincrby(K_ACTIVE, t)  -- leased earlier in this call
      held = held + redis.call('ZCOUNT', P_BUCKET .. t .. ':permits', NOW, '+inf')
      if held >= lim.c then return false end
    end
    if lim.r > 0 then
      local bk = P_BUCKET .. t
      local st = redis.call('HMGET', bk, 'tokens', 'ts')
      local tokens = tonumber(st[1]) or lim.b
      local ts = tonumber(st[2]) or NOW
      tokens = math.min(lim.b, tokens + math.max(0, NOW - ts) * lim.r / 1000)
      -- EPS absorbs float rounding in the refill sum, so 0.5 + 0.5 tokens is one token.
      if tokens < 1 - EPS then
        local need = math.max(1, math.ceil((1 - tokens) * 1000 / lim.r - EPS))
        if wait_ms == 0 or need < wait_ms then wait_ms = need end
        redis.call('HSET', bk, 'tokens', tostring(tokens), 'ts', NOW)
        return false
      end
      redis.call('HSET', bk, 'tokens', tostring(math.max(0, tokens - 1)), 'ts', NOW)
    end
    return true
  end

  -- Types whose circuit breaker on this worker is open or probing are skipped; the
  -- stream is told when the earliest hold ends so it asks again then.
  for _, t in ipairs(types) do
    local c = redis.call('HGET', K_CIRCUITS, wid .. '\t' .. t)
    if c then
      local until_ms = tonumber(string.match(c, ':(%d+)$') or '0')
      if until_ms > NOW then
        blocked[t] = true
        if wait_ms == 0 or until_ms - NOW < wait_ms then wait_ms = until_ms - NOW end
      end
    end
  end

  -- Counters read once and written back once: the weighted pattern position and the
  -- per-priority type cursors (scripts are atomic, so this equals per-job updates).
  local seq = tonumber(redis.call('GET', K_SEQ) or '0')
  local start_seq = seq
  local cur = redis.call('HMGET', K_CURSOR, 'high', 'normal', 'low')
  local cursor = {high = tonumber(cur[1]) or 0, normal = tonumber(cur[2]) or 0,
    low = tonumber(cur[3]) or 0}
  local cursor_moved = false
  local taken, guard = 0, 0  -- jobs leased, loop turns

  -- Pop the next job id of priority p, rotating the first type tried so one flooding
  -- type cannot starve another of the same priority.
  local function pop_from(p)
    cursor[p] = cursor[p] + 1
    cursor_moved = true
    local start = cursor[p]
    for k = 0, ntypes - 1 do
      local t = types[((start + k) % ntypes) + 1]
      if not blocked[t] then
        local rk = ready_key(p, t)
        if not limits_of(t) then
          local id = pop_ready(rk, free - taken)
          if id then return id, t end
        elseif redis.call('LLEN', rk) > 0 then
          if admit(t) then
            return redis.call('LPOP', rk), t
          end
          blocked[t] = true
          rate_limited = rate_limited + 1
          limited_types[#limited_types + 1] = t
        end
      end
    end
    return nil, nil
  end

  -- Lease a popped job: one read and one write of its hash. Returns false for an id
  -- whose hash is gone or no longer enqueued (it is skipped, not leased).
  local function lease(id, prio, t)
    local jk = P_JOB .. id
    local f = redis.call('HMGET', jk, 'state', 'token', 'attempt', 'payload', 'retries',
      'lease_ms', 'timeout_ms', 'created', 'ready', 'trace', 'parent', 'pn', 'watch', 'hn')
    if f[1] ~= 'enqueued' then return false end
    local token = (tonumber(f[2]) or 0) + 1
    local attempt = (tonumber(f[3]) or 0) + 1
    local lease_ms = tonumber(f[6]) or default_lease
    local deadline = NOW + lease_ms
    local fields = {'state', 'active', 'token', token, 'attempt', attempt,
      'started', NOW_TEXT, 'wid', wid, 'sid', sid, 'deadline', deadline}
    record(id, t, 'enqueued', 'active', attempt, wid, nil, f[13] ~= false, f[14], fields)
    redis.call('HSET', jk, unpack(fields))
    -- Sent once for the whole call (_batch.lua); admit() adds the pending counts.
    later('ZADD', K_LEASES, deadline, id)
    later('SADD', inflight, id)
    later_hincrby(K_ACTIVE, t, 1)
    local n = #jobs  -- the row (LEASE_FIELDS), appended in place
    jobs[n + 1], jobs[n + 2], jobs[n + 3] = id, t, prio
    jobs[n + 4], jobs[n + 5] = join_payload(jk, f[4], f[12]), attempt
    jobs[n + 6], jobs[n + 7], jobs[n + 8] = retries_of(f[5]), token, deadline
    jobs[n + 9], jobs[n + 10], jobs[n + 11] = lease_ms, f[7] or '0', f[8]
    jobs[n + 12], jobs[n + 13], jobs[n + 14] = f[9] or f[8], f[10] or '', f[11] or ''
    return true
  end

  while taken < free and guard < free * 4 do
    guard = guard + 1
    -- Strict: the pattern lists the priorities this call may serve, in order (all
    -- three, or one when the broker walks partitions priority by priority).
    local order = pattern
    if not strict then
      local pref = pattern[(seq % #pattern) + 1]
      order = {pref}
      for _, p in ipairs(ALL) do
        if p ~= pref then order[#order + 1] = p end
      end
    end
    local id, t, prio = nil, nil, nil
    for _, p in ipairs(order) do
      if not paused[p] and not empty[p] then
        id, t = pop_from(p)
        if id then
          prio = p
          break
        end
        empty[p] = true
      end
    end
    if not id then break end
    if lease(id, prio, t) then
      if not strict then seq = seq + 1 end
      taken = taken + 1
    end
  end
  put_back_unpopped()
  if seq ~= start_seq then redis.call('SET', K_SEQ, seq) end
  if cursor_moved then
    redis.call('HSET', K_CURSOR, 'high', cursor.high, 'normal', cursor.normal, 'low', cursor.low)
  end
  flush_writes()
  return {jobs, wait_ms, rate_limited, limited_types}
end

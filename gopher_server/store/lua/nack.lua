-- nack: record failed (or handed-back) attempts of ACTIVE jobs whose token matches.
--
-- ARGV[A]    default backoff base, ms
-- ARGV[A+1]  default backoff factor
-- ARGV[A+2]  default backoff max, ms
-- ARGV[A+3]  hold, ms: after a draining handback the worker gets no new jobs this
--            long, unless it opens a new stream
-- ARGV[A+4]  n, number of nacks
-- then n groups of 10 fields: job id, lease token, error type, error message,
--   traceback, non-retryable ('1'/'0'), retry-after ms ('-1' = use backoff),
--   handback ('1'/'0'), jitter in [0, 1) drawn by the caller, draining ('1'/'0')
--
-- A handback puts the job at the front of its queue and uncounts the attempt. A
-- failure retries after backoff min(max, base * factor^(attempt-1)) scaled into
-- [1/2, 1] by the jitter, or goes to the DLQ when non-retryable or out of retries.
--
-- A job that dies submits its on_failure follow-ups in the same call.
--
-- Returns n pairs: code ('enqueued' | 'retrying' | 'dead' | 'stale' | 'missing'),
-- job type ('' when missing); then the ids of the workers whose slots were freed.
local d_base, d_factor, d_max = tonumber(ARGV[A]), tonumber(ARGV[A + 1]), tonumber(ARGV[A + 2])
local hold_ms = tonumber(ARGV[A + 3])
local n = tonumber(ARGV[A + 4])
local out = {}
for i = 0, n - 1 do
  local b = A + 5 + i * 10
  local id, token = ARGV[b], ARGV[b + 1]
  local jk = P_JOB .. id
  local f = redis.call('HMGET', jk, 'state', 'token', 'wid', 'type', 'attempt', 'retries',
    'prio', 'bo_base', 'bo_factor', 'bo_max')
  if not f[1] then
    out[#out + 1] = 'missing'
    out[#out + 1] = ''
  elseif f[1] ~= 'active' or f[2] ~= token then
    out[#out + 1] = 'stale'
    out[#out + 1] = f[4] or ''
  else
    local wid, jtype, attempt, retries, prio = f[3], f[4], tonumber(f[5]), retries_of(f[6]),
      prio_of(f[7])
    drop_lease(id, wid, jtype)
    if ARGV[b + 7] == '1' then
      -- A draining worker must not be fed again; a breaker handback needs no hold
      -- (the breaker already keeps the type away from this worker).
      if ARGV[b + 9] == '1' then redis.call('HSET', K_HOLDS, wid, NOW + hold_ms) end
      attempt = redis.call('HINCRBY', jk, 'attempt', -1)
      make_ready(id, prio, jtype, true)
      record(id, jtype, 'active', 'enqueued', attempt, wid, nil)
      out[#out + 1] = 'enqueued'
      out[#out + 1] = jtype
    else
      redis.call('HDEL', K_HOLDS, wid)
      local err = {type = ARGV[b + 2], message = ARGV[b + 3], traceback = ARGV[b + 4]}
      if ARGV[b + 5] == '1' or attempt > retries then
        to_dead(id, jtype, 'active', attempt, wid, err)
        out[#out + 1] = 'dead'
        out[#out + 1] = jtype
      else
        local delay = tonumber(ARGV[b + 6])
        if delay < 0 then
          local base = tonumber(f[8]) or d_base
          local factor = tonumber(f[9]) or d_factor
          local max = tonumber(f[10]) or d_max
          delay = math.min(max, base * factor ^ (attempt - 1))
          delay = math.floor(delay * (0.5 + 0.5 * tonumber(ARGV[b + 8])))
        end
        local due = NOW + delay
        redis.call('HSET', jk, 'state', 'retrying', 'run_at', due,
          'last_error', err.type .. ': ' .. err.message)
        redis.call('ZADD', K_RETRY, due, id)
        record(id, jtype, 'active', 'retrying', attempt, wid, err)
        out[#out + 1] = 'retrying'
        out[#out + 1] = jtype
      end
    end
  end
end
announce()
return with_freed(out)

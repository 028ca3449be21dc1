-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- nack: record failed (or handed-back) attempts of ACTIVE jobs whose token matches.
--
-- ARGV[A]  d_base (float, ms): default backoff base
-- ARGV[A + 1]  d_factor (float): default backoff factor
-- ARGV[A + 2]  d_max (float, ms): default backoff max
-- ARGV[A + 3]  hold_ms (int, ms): hold after a draining handback
-- ARGV[A + 4]  n: number of nacks, then n records of 10:
--   id (str): job id
--   token (int): lease token
--   error_type (str): error type
--   message (str): error message
--   traceback (str): traceback
--   non_retryable (flag): straight to the DLQ
--   retry_after (int, ms): retry delay (-1 = backoff)
--   handback (flag): hand back: requeue at the front, attempt uncounted
--   jitter (float): in [0, 1), drawn by the caller
--   draining (flag): with handback: hold this worker
--
-- Returns:
--   n pairs, then ids of the workers whose slots were freed
--     record: code (str), type (str)
local d_base = num_arg(A, 'd_base')
local d_factor = num_arg(A + 1, 'd_factor')
local d_max = num_arg(A + 2, 'd_max')
local hold_ms = num_arg(A + 3, 'hold_ms')
local n = num_arg(A + 4, 'n')
local NACKS_AT = A + 5
local function nack_at(i)
  local b = NACKS_AT + (i - 1) * 10
  return {
    id = ARGV[b],
    token = ARGV[b + 1],
    error_type = ARGV[b + 2],
    message = ARGV[b + 3],
    traceback = ARGV[b + 4],
    non_retryable = ARGV[b + 5] == '1',
    retry_after = tonumber(ARGV[b + 6]),
    handback = ARGV[b + 7] == '1',
    jitter = tonumber(ARGV[b + 8]),
    draining = ARGV[b + 9] == '1',
  }
end
check_argc(NACKS_AT + n * 10 - 1)
-- contract:end
--
-- After a draining handback the worker gets no new jobs for hold_ms, unless it opens
-- a new stream.
-- A handback puts the job at the front of its queue and uncounts the attempt. A
-- failure retries after backoff min(max, base * factor^(attempt-1)) scaled into
-- [1/2, 1] by the jitter, or goes to the DLQ when non-retryable or out of retries.
--
-- A job that dies submits its on_failure follow-ups in the same call.
--
-- Codes: 'enqueued' | 'retrying' | 'dead' | 'stale' | 'missing'.
local out = {}
for i = 1, n do
  local item = nack_at(i)
  local id, token = item.id, item.token
  local jk = P_JOB .. id
  local f = redis.call('HMGET', jk, 'state', 'token', 'wid', 'type', 'attempt', 'retries',
    'prio', 'bo_base', 'bo_factor', 'bo_max', 'hn')
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
    if item.handback then
      -- A draining worker must not be fed again; a breaker handback needs no hold
      -- (the breaker already keeps the type away from this worker).
      if item.draining then redis.call('HSET', K_HOLDS, wid, NOW + hold_ms) end
      attempt = redis.call('HINCRBY', jk, 'attempt', -1)
      make_ready(id, prio, jtype, true)
      record(id, jtype, 'active', 'enqueued', attempt, wid, nil, nil, f[11])
      out[#out + 1] = 'enqueued'
      out[#out + 1] = jtype
    else
      redis.call('HDEL', K_HOLDS, wid)
      local err = {type = item.error_type, message = item.message, traceback = item.traceback}
      if item.non_retryable or attempt > retries then
        to_dead(id, jtype, 'active', attempt, wid, err)
        out[#out + 1] = 'dead'
        out[#out + 1] = jtype
      else
        local delay = item.retry_after
        if delay < 0 then
          local base = tonumber(f[8]) or d_base
          local factor = tonumber(f[9]) or d_factor
          local max = tonumber(f[10]) or d_max
          delay = math.min(max, base * factor ^ (attempt - 1))
          delay = math.floor(delay * (0.5 + 0.5 * item.jitter))
        end
        local due = NOW + delay
        redis.call('HSET', jk, 'state', 'retrying', 'run_at', due,
          'last_error', err.type .. ': ' .. err.message)
        redis.call('ZADD', K_RETRY, due, id)
        record(id, jtype, 'active', 'retrying', attempt, wid, err, nil, f[11])
        out[#out + 1] = 'retrying'
        out[#out + 1] = jtype
      end
    end
  end
end
announce()
return with_freed(out)

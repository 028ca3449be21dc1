-- submit: create a batch of jobs atomically (validation happened before the call).
--
-- ARGV[A]     idempotency TTL, ms
-- ARGV[A+1]   n, number of jobs
-- then n groups of 13 fields:
--   id, type, priority (high|normal|low), payload JSON, retries, run_at ms (0 = now),
--   idempotency key ('' = none), timeout ms, lease ms (0 = default), backoff base ms,
--   backoff factor, backoff max ms ('' = broker default for each), trace JSON ('' = none)
--
-- Returns a flat array of n triples: job id, state (enqueued|scheduled|<state of the
-- earlier job>), duplicate flag (1 when the idempotency key matched an earlier job).
local idem_ttl = tonumber(ARGV[A])
local n = tonumber(ARGV[A + 1])
local out = {}
local seen_keys = {}
for i = 0, n - 1 do
  local b = A + 2 + i * 13
  local id, jtype, prio, payload = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local retries, run_at, idem = ARGV[b + 4], tonumber(ARGV[b + 5]), ARGV[b + 6]
  local existing = nil
  if idem ~= '' then
    existing = seen_keys[idem] or redis.call('GET', P_IDEM .. idem)
  end
  if existing then
    local state = redis.call('HGET', P_JOB .. existing, 'state') or 'succeeded'
    out[#out + 1] = existing
    out[#out + 1] = state
    out[#out + 1] = 1
  else
    local jk = P_JOB .. id
    local fields = {'type', jtype, 'prio', prio, 'payload', payload, 'retries', retries,
      'created', NOW}
    local optional = {'idem', idem, 'timeout_ms', ARGV[b + 7], 'lease_ms', ARGV[b + 8],
      'bo_base', ARGV[b + 9], 'bo_factor', ARGV[b + 10], 'bo_max', ARGV[b + 11],
      'trace', ARGV[b + 12]}
    -- '' is "not set" for every field. '0' also means "default" for timeout and lease
    -- only: a backoff of 0 (retry at once) or an idempotency key "0" is a real value.
    for j = 1, #optional, 2 do
      local name, v = optional[j], optional[j + 1]
      if v ~= '' and not (v == '0' and (name == 'timeout_ms' or name == 'lease_ms')) then
        fields[#fields + 1] = name
        fields[#fields + 1] = v
      end
    end
    local state
    if run_at > NOW then
      state = 'scheduled'
      fields[#fields + 1] = 'state'
      fields[#fields + 1] = state
      fields[#fields + 1] = 'run_at'
      fields[#fields + 1] = run_at
      redis.call('HSET', jk, unpack(fields))
      redis.call('ZADD', K_SCHEDULED, run_at, id)
    else
      state = 'enqueued'
      redis.call('HSET', jk, unpack(fields))
      make_ready(id, prio, jtype, false)
    end
    redis.call('SADD', K_TYPES, jtype)
    if idem ~= '' then
      redis.call('SET', P_IDEM .. idem, id, 'PX', idem_ttl)
      seen_keys[idem] = id
    end
    out[#out + 1] = id
    out[#out + 1] = state
    out[#out + 1] = 0
  end
end
announce()
return out

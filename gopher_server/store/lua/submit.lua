-- submit: create a batch of jobs atomically (validation happened before the call).
--
-- ARGV[A]     n, number of jobs
-- then n groups of 15 fields:
--   id, type, priority (high|normal|low), payload JSON, retries, run_at ms (0 = now),
--   idempotency key ('' = none), timeout ms, lease ms (0 = default), backoff base ms,
--   backoff factor, backoff max ms ('' = broker default for each), trace JSON ('' = none),
--   on_success follow-ups, on_failure follow-ups (JSON arrays of follow-up specs as
--   written by store/chains.py; '' = none)
-- ARGV[A+1+15n] optional: most job types the known-types set (KEYS[9]) may hold;
--   absent, '' or 0 = no cap
-- ARGV[A+2+15n ...] optional: a hand-off, the dispatch arguments of a stream waiting
--   for work (as dispatch.lua takes them: worker id, session id, capacity, ...). The
--   call then also dispatches to that worker, exactly as its own dispatch would, so
--   a new job reaches an idle worker without another round trip.
--
-- Returns a flat array of n triples: job id, state (enqueued|scheduled|<state of the
-- earlier job>), duplicate flag (1 when the idempotency key matched an earlier job).
-- With a hand-off: {that array, dispatch result as dispatch_to() returns it}.
-- Error "TYPE_LIMIT <message>" when the batch would take the known types over the cap;
-- nothing is written then.
local n = tonumber(ARGV[A])
local out = {}

-- The type cap is checked for the whole batch before any write: an error raised
-- halfway would keep the jobs already created.
local max_types = tonumber(ARGV[A + 1 + n * 15] or '') or 0
if max_types > 0 then
  -- One SISMEMBER per distinct type in the batch. (A repeat of an idempotent submit
  -- never brings a new type: its first submit already added it.)
  local seen, count = {}, 0
  for i = 0, n - 1 do
    local jtype = ARGV[A + 1 + i * 15 + 1]
    if not seen[jtype] then
      seen[jtype] = true
      if redis.call('SISMEMBER', K_TYPES, jtype) == 0 then count = count + 1 end
    end
  end
  if count > 0 and redis.call('SCARD', K_TYPES) + count > max_types then
    return redis.error_reply('TYPE_LIMIT the broker knows ' .. redis.call('SCARD', K_TYPES)
      .. ' job types and allows at most ' .. max_types .. '; this would add ' .. count)
  end
end

for i = 0, n - 1 do
  local b = A + 1 + i * 15
  local id, state, dup = create_job({id = ARGV[b], type = ARGV[b + 1], prio = ARGV[b + 2],
    payload = ARGV[b + 3], retries = ARGV[b + 4], run_at = tonumber(ARGV[b + 5]),
    idem = ARGV[b + 6], timeout_ms = ARGV[b + 7], lease_ms = ARGV[b + 8],
    bo_base = ARGV[b + 9], bo_factor = ARGV[b + 10], bo_max = ARGV[b + 11],
    trace = ARGV[b + 12], on_ok = ARGV[b + 13], on_fail = ARGV[b + 14], parent = ''})
  out[#out + 1] = id
  out[#out + 1] = state
  out[#out + 1] = dup
end
local handoff = A + 2 + n * 15
if ARGV[handoff] and ARGV[handoff] ~= '' then
  local dispatched = dispatch_to(dispatch_args(handoff))
  -- Work the hand-off took needs no wake-up elsewhere: announce only types that still
  -- have ready jobs.
  for t, _ in pairs(woken_types) do
    local left = 0
    for _, p in ipairs({'high', 'normal', 'low'}) do
      left = left + redis.call('LLEN', ready_key(p, t))
    end
    if left == 0 then woken_types[t] = nil end
  end
  announce()
  return {out, dispatched}
end
announce()
return out

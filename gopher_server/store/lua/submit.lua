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
local batch_types = {}
for i = 0, n - 1 do batch_types[#batch_types + 1] = ARGV[A + 1 + i * 15 + 1] end
local over = type_cap_error(batch_types, tonumber(ARGV[A + 1 + n * 15] or '') or 0)
if over then return over end

for i = 0, n - 1 do
  local id, state, dup = create_job(job_from_args(A + 1 + i * 15))
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

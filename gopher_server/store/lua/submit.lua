-- submit: create a batch of jobs atomically (validation happened before the call).
--
-- ARGV[A]     n, number of jobs
-- then n groups of 15 fields:
--   id, type, priority (high|normal|low), payload JSON, retries, run_at ms (0 = now),
--   idempotency key ('' = none), timeout ms, lease ms (0 = default), backoff base ms,
--   backoff factor, backoff max ms ('' = broker default for each), trace JSON ('' = none),
--   on_success follow-ups, on_failure follow-ups (JSON arrays of follow-up specs as
--   written by store/chains.py; '' = none)
--
-- Returns a flat array of n triples: job id, state (enqueued|scheduled|<state of the
-- earlier job>), duplicate flag (1 when the idempotency key matched an earlier job).
local n = tonumber(ARGV[A])
local out = {}
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
announce()
return out

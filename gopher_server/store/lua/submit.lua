-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- submit: create a batch of jobs atomically (validated before the call).
--
-- ARGV[A]  n: number of jobs to create, then n records of 15:
--   id (str): job id
--   type (str): job type
--   prio (str): priority word
--   payload (str): payload JSON
--   retries (int): retries
--   run_at (int, ms): due time (0 = now)
--   idem (str): idempotency key ('' = none)
--   timeout_ms (int, ms): handler timeout (0 = none)
--   lease_ms (int, ms): lease TTL (0 = default)
--   bo_base (opt, ms): backoff base ('' = default)
--   bo_factor (opt): backoff factor ('' = default)
--   bo_max (opt, ms): backoff max ('' = default)
--   trace (str): trace context JSON ('' = none)
--   on_ok (jobs): on_success follow-ups ('' = none)
--   on_fail (jobs): on_failure follow-ups ('' = none)
-- ARGV[JOBS_AT + n * 15]  max_types (int): most job types the known-types set may hold (0 = no cap)
-- ARGV[JOBS_AT + n * 15 + 1 ...]  optional DISPATCH: the dispatch arguments of a stream (dispatch_to in _dispatch.lua):
--   wid, sid, capacity, default_lease, strict, pattern, grants, types (read by dispatch_args in _dispatch.lua)
--
-- Returns:
--   n triples; with a hand-off {those, dispatch reply}
--     record: job_id (str), state (str), duplicate (flag)
local n = num_arg(A, 'n')
local JOBS_AT = A + 1
local function job_at(i)
  local b = JOBS_AT + (i - 1) * 15
  return {
    id = ARGV[b],
    type = ARGV[b + 1],
    prio = ARGV[b + 2],
    payload = ARGV[b + 3],
    retries = ARGV[b + 4],
    run_at = tonumber(ARGV[b + 5]),
    idem = ARGV[b + 6],
    timeout_ms = ARGV[b + 7],
    lease_ms = ARGV[b + 8],
    bo_base = ARGV[b + 9],
    bo_factor = ARGV[b + 10],
    bo_max = ARGV[b + 11],
    trace = ARGV[b + 12],
    on_ok = ARGV[b + 13],
    on_fail = ARGV[b + 14],
  }
end
local max_types = num_arg(JOBS_AT + n * 15, 'max_types')
local DISPATCH = JOBS_AT + n * 15 + 1
check_argc_at_least(JOBS_AT + n * 15)
-- contract:end
--
-- Validation happened before the call. With DISPATCH (a hand-off: the dispatch
-- arguments of a stream waiting for work) the call also dispatches to that worker,
-- exactly as its own dispatch would, so a new job reaches an idle worker without
-- another round trip; the reply is then {the triples, dispatch result as dispatch_to()
-- returns it}. max_types 0: no cap.
-- Error "TYPE_LIMIT <message>" when the batch would take the known types over the cap;
-- nothing is written then.
-- The hand-off's arguments are read (and checked) before anything is written.
local handoff = ARGV[DISPATCH] and ARGV[DISPATCH] ~= '' and {dispatch_args(DISPATCH)}
local out = {}

-- The type cap is checked for the whole batch before any write: an error raised
-- halfway would keep the jobs already created.
local jobs, batch_types = {}, {}
for i = 1, n do
  jobs[i] = job_at(i)
  batch_types[i] = jobs[i].type
end
local over = type_cap_error(batch_types, max_types)
if over then return over end

for i = 1, n do
  local id, state, dup = create_job(jobs[i])
  out[#out + 1] = id
  out[#out + 1] = state
  out[#out + 1] = dup
end
if handoff then
  local dispatched = dispatch_to(unpack(handoff))
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

-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- dispatch: lease up to (capacity - in-flight) ready jobs to one worker (dispatch_to).
--
-- ARGV[A ...]  optional DISPATCH: the dispatch arguments of a stream (dispatch_to in _dispatch.lua):
--   wid, sid, capacity, default_lease, strict, pattern, grants, types (read by dispatch_args in _dispatch.lua)
--
-- Returns:
--   {jobs, wait_ms, rate_limited, limited_types}
--     jobs: 14 fields per leased job
--       record: job_id (str), type (str), priority (str), payload (str), attempt (int), retries (int), token (int), deadline_ms (int, Unix ms), lease_ms (int, ms), timeout_ms (int, ms), created_ms (int, Unix ms), ready_ms (int, Unix ms), trace (str), parent_id (str)
--     wait_ms: when > 0, a held-back type may go again in this many ms
--     rate_limited: times a type with ready work was held back
--     limited_types: those types
--       record: type (str)
local DISPATCH = A
check_argc_at_least(A - 1)
-- contract:end
-- The work is dispatch_to() in _dispatch.lua; DISPATCH is laid out as dispatch_args()
-- there reads it.
return dispatch_to(dispatch_args(DISPATCH))

-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- submit_group: create a group and its members atomically (validated before the call).
--
-- ARGV[A]  gid (str): group id
-- ARGV[A + 1]  idem_key (str): group idempotency key name ('' = none)
-- ARGV[A + 2]  idem (str): the client's idempotency key ('' = none)
-- ARGV[A + 3]  on_done (jobs): on_complete follow-ups
-- ARGV[A + 4]  on_ok (jobs): on_success follow-ups
-- ARGV[A + 5]  on_fail (jobs): on_failure follow-ups
-- ARGV[A + 6]  trace (str): trace context JSON for follow-ups without their own
-- ARGV[A + 7]  max_types (int): most job types the known-types set may hold (0 = no cap)
-- ARGV[A + 8]  n: number of members, laid out as submit's jobs, then n records of 15:
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
--
-- Returns:
--   {group id, duplicate, then n triples}
--     record: job_id (str), state (str), duplicate (flag)
--     group id
--     duplicate: 1 when the key named an earlier group
local gid = ARGV[A]
local idem_key = ARGV[A + 1]
local idem = ARGV[A + 2]
local on_done = ARGV[A + 3]
local on_ok = ARGV[A + 4]
local on_fail = ARGV[A + 5]
local trace = ARGV[A + 6]
local max_types = num_arg(A + 7, 'max_types')
local n = num_arg(A + 8, 'n')
local MEMBERS_AT = A + 9
local function job_at(i)
  local b = MEMBERS_AT + (i - 1) * 15
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
check_argc(MEMBERS_AT + n * 15 - 1)
-- contract:end
--
-- Validated before the call; members carry no idempotency key (the group has one). A
-- duplicate (the idempotency key named an earlier group within its TTL) returns that
-- group's id, 1, and its members' triples with their current states; nothing is
-- written. Error "TYPE_LIMIT <message>" as submit.lua; nothing is written then.
if idem_key ~= '' then
  local earlier = redis.call('GET', idem_key)
  if earlier then
    local out = {earlier, 1}
    local members = redis.call('HGET', P_GROUP .. earlier, 'members') or ''
    for mid in string.gmatch(members, '[^,]+') do
      out[#out + 1] = mid
      out[#out + 1] = redis.call('HGET', P_JOB .. mid, 'state') or 'succeeded'
      out[#out + 1] = 1
    end
    return out
  end
end

local jobs, types = {}, {}
for i = 1, n do
  jobs[i] = job_at(i)
  types[i] = jobs[i].type
end
local over = type_cap_error(types, max_types)
if over then return over end

local out = create_group({id = gid, idem = idem, on_done = on_done, on_ok = on_ok,
  on_fail = on_fail, trace = trace, jobs = jobs})
if idem_key ~= '' then redis.call('SET', idem_key, gid, 'PX', IDEM_TTL) end
table.insert(out, 1, 0)
table.insert(out, 1, gid)
announce()
return out

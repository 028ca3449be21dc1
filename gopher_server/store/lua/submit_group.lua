-- submit_group: create a group and its members atomically (validated before the call).
--
-- ARGV[A]    group id
-- ARGV[A+1]  group idempotency key name (store/keys.py `group_idempotency`; '' = none)
-- ARGV[A+2]  the client's idempotency key, kept on the group ('' = none)
-- ARGV[A+3]  on_complete follow-ups, ARGV[A+4] on_success, ARGV[A+5] on_failure (JSON
--            arrays of follow-up specs as written by store/chains.py; '' = none)
-- ARGV[A+6]  trace JSON for follow-ups without their own ('' = none)
-- ARGV[A+7]  most job types the known-types set (KEYS[9]) may hold (0 = no cap)
-- ARGV[A+8]  n, number of members
-- then n groups of 15 fields, laid out as in submit.lua (members carry no idempotency
--   key: the group has one)
--
-- Returns {group id, duplicate flag, then n triples: member id, state, 0}. A duplicate
-- (the idempotency key named an earlier group within its TTL) returns that group's id,
-- 1, and its members' triples with their current states; nothing is written.
-- Error "TYPE_LIMIT <message>" as submit.lua; nothing is written then.
local gid, idem_key, idem = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local n = tonumber(ARGV[A + 8])

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

local types = {}
for i = 0, n - 1 do types[#types + 1] = ARGV[A + 9 + i * 15 + 1] end
local over = type_cap_error(types, tonumber(ARGV[A + 7]) or 0)
if over then return over end

local jobs = {}
for i = 0, n - 1 do jobs[#jobs + 1] = job_from_args(A + 9 + i * 15) end
local out = create_group({id = gid, idem = idem, on_done = ARGV[A + 3], on_ok = ARGV[A + 4],
  on_fail = ARGV[A + 5], trace = ARGV[A + 6], jobs = jobs})
if idem_key ~= '' then redis.call('SET', idem_key, gid, 'PX', IDEM_TTL) end
table.insert(out, 1, 0)
table.insert(out, 1, gid)
announce()
return out

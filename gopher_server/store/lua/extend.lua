-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- extend: push out the deadline of ACTIVE leases whose token matches.
--
-- ARGV[A]  default_lease (int, ms): lease TTL when an item asks for 0 and the job has none
-- ARGV[A + 1]  n: number of extensions, then n records of 3:
--   id (str): job id
--   token (int): lease token
--   ttl (int, ms): new TTL from now (0 = the job's lease TTL)
--
-- Returns:
--   n triples
--     record: code (str), deadline_ms (int), type (str)
local default_lease = num_arg(A, 'default_lease')
local n = num_arg(A + 1, 'n')
local EXTENSIONS_AT = A + 2
local function extension_at(i)
  local b = EXTENSIONS_AT + (i - 1) * 3
  return {
    id = ARGV[b],
    token = ARGV[b + 1],
    ttl = tonumber(ARGV[b + 2]),
  }
end
check_argc(EXTENSIONS_AT + n * 3 - 1)
-- contract:end
local out = {}
for i = 1, n do
  local item = extension_at(i)
  local id, token, ttl = item.id, item.token, item.ttl
  local jk = P_JOB .. id
  local f = redis.call('HMGET', jk, 'state', 'token', 'lease_ms', 'wid', 'type')
  if not f[1] then
    out[#out + 1] = 'missing'
    out[#out + 1] = 0
    out[#out + 1] = ''
  elseif f[1] ~= 'active' or f[2] ~= token then
    out[#out + 1] = 'stale'
    out[#out + 1] = 0
    out[#out + 1] = f[5] or ''
  else
    if ttl <= 0 then ttl = tonumber(f[3]) or default_lease end
    local deadline = NOW + ttl
    redis.call('HSET', jk, 'deadline', deadline)
    redis.call('ZADD', K_LEASES, deadline, id)
    if f[4] then redis.call('HDEL', K_HOLDS, f[4]) end
    out[#out + 1] = 'ok'
    out[#out + 1] = deadline
    out[#out + 1] = f[5] or ''
  end
end
return out

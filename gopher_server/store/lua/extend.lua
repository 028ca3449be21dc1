-- extend: push out the deadline of ACTIVE leases whose token matches.
--
-- ARGV[A]    default lease TTL, ms (used when an item asks for 0 and the job has none)
-- ARGV[A+1]  n, number of extensions
-- then n triples: job id, lease token, new TTL from now in ms (0 = the job's lease TTL)
--
-- Returns n pairs: code ('ok' | 'stale' | 'missing'), new deadline ms (0 unless ok).
local default_lease = tonumber(ARGV[A])
local n = tonumber(ARGV[A + 1])
local out = {}
for i = 0, n - 1 do
  local b = A + 2 + i * 3
  local id, token, ttl = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])
  local jk = P_JOB .. id
  local f = redis.call('HMGET', jk, 'state', 'token', 'lease_ms', 'wid')
  if not f[1] then
    out[#out + 1] = 'missing'
    out[#out + 1] = 0
  elseif f[1] ~= 'active' or f[2] ~= token then
    out[#out + 1] = 'stale'
    out[#out + 1] = 0
  else
    if ttl <= 0 then ttl = tonumber(f[3]) or default_lease end
    local deadline = NOW + ttl
    redis.call('HSET', jk, 'deadline', deadline)
    redis.call('ZADD', K_LEASES, deadline, id)
    if f[4] then redis.call('HDEL', K_HOLDS, f[4]) end
    out[#out + 1] = 'ok'
    out[#out + 1] = deadline
  end
end
return out

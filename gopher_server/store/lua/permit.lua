-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- permit: in a limited type's home partition: lend, settle, extend and take back the permits that let other partitions lease its jobs (store/permits.py).
--
-- ARGV[A]  op (str): acquire | settle | extend | release
-- ARGV[A + 1]  jtype (str): job type
-- ARGV[A + 2]  want (int): acquire: most permits wanted; settle: permits granted
-- ARGV[A + 3]  rid (str): acquire, settle: the reservation's id
-- ARGV[A + 4]  ttl (int, ms): acquire: how long an unsettled reservation holds
-- ARGV[A + 5]  n: number of settle, extend, release: the holders concerned, then n records of 2:
--   member (str): holder: '<partition>:<job id>'
--   deadline (int, ms): until when it holds the permit (settle, extend)
--
-- Returns:
--   {granted (acquire) or holders changed, wait_ms}
local op = ARGV[A]
local jtype = ARGV[A + 1]
local want = num_arg(A + 2, 'want')
local rid = ARGV[A + 3]
local ttl = num_arg(A + 4, 'ttl')
local n = num_arg(A + 5, 'n')
local HOLDERS_AT = A + 6
local function holder_at(i)
  local b = HOLDERS_AT + (i - 1) * 2
  return {
    member = ARGV[b],
    deadline = tonumber(ARGV[b + 1]),
  }
end
check_argc(HOLDERS_AT + n * 2 - 1)
-- contract:end
--
-- Permits of a limited type, kept in the type's home partition. Jobs of the type that
-- live in other partitions (queued before the limit was set, keyed elsewhere,
-- follow-ups of a parent elsewhere) may be leased only under a permit lent from here,
-- so the type's concurrency cap and rate hold over the whole namespace:
--   acquire  lend up to `want` permits (room under the cap, and rate tokens) as a
--            reservation r:<rid>:<i> that lapses after `ttl` unless settled;
--   settle   replace the reservation by the holders that were leased (until their
--            lease deadline plus grace), and give unused rate tokens back;
--   extend   push out the holders' deadlines (their leases were extended);
--   release  drop holders whose leases ended.
-- A holder whose broker died before settling or releasing lapses at its deadline:
-- the cap is then under-used for a while, never exceeded.
local key = P_BUCKET .. jtype .. ':permits'
redis.call('ZREMRANGEBYSCORE', key, '-inf', NOW)
local raw = redis.call('HGET', K_LIMITS, jtype)
local lim = raw and cjson.decode(raw) or nil

local function refill_tokens()
  local bk = P_BUCKET .. jtype
  local st = redis.call('HMGET', bk, 'tokens', 'ts')
  local tokens = tonumber(st[1]) or lim.b
  local ts = tonumber(st[2]) or NOW
  return bk, math.min(lim.b, tokens + math.max(0, NOW - ts) * lim.r / 1000)
end

if op == 'acquire' then
  if not lim or lim.g then return {0, 0} end
  local room = want
  if lim.c > 0 then
    local held = tonumber(redis.call('HGET', K_ACTIVE, jtype) or '0') + redis.call('ZCARD', key)
    room = math.min(room, lim.c - held)
  end
  local wait_ms = 0
  if room > 0 and lim.r > 0 then
    local bk, tokens = refill_tokens()
    local whole = math.floor(tokens + 1e-9)
    if whole < 1 then
      wait_ms = math.max(1, math.ceil((1 - tokens) * 1000 / lim.r))
    end
    room = math.min(room, whole)
    redis.call('HSET', bk, 'tokens', tostring(math.max(0, tokens - math.max(room, 0))), 'ts', NOW)
  end
  if room <= 0 then return {0, wait_ms} end
  for i = 1, room do
    redis.call('ZADD', key, NOW + ttl, 'r:' .. rid .. ':' .. i)
  end
  return {room, 0}
end

local changed = 0
if op == 'settle' then
  for i = 1, want do redis.call('ZREM', key, 'r:' .. rid .. ':' .. i) end
  for i = 1, n do
    local h = holder_at(i)
    redis.call('ZADD', key, h.deadline, h.member)
    changed = changed + 1
  end
  if lim and not lim.g and lim.r > 0 and want > n then
    local bk, tokens = refill_tokens()
    redis.call('HSET', bk, 'tokens', tostring(math.min(lim.b, tokens + want - n)), 'ts', NOW)
  end
elseif op == 'extend' then
  for i = 1, n do
    local h = holder_at(i)
    changed = changed + redis.call('ZADD', key, 'XX', 'CH', h.deadline, h.member)
  end
elseif op == 'release' then
  for i = 1, n do
    changed = changed + redis.call('ZREM', key, holder_at(i).member)
  end
else
  error('permit: unknown op ' .. tostring(op))
end
-- A cap freed here may let streams waiting on the type go.
if changed > 0 and op == 'release' then control('w', jtype) end
return {changed, 0}

-- Shared prelude, prepended to every Gopher script when it is loaded.
--
-- KEYS (the same fixed list for every script, all in one hash-tag slot):
--   KEYS[1]  scheduled  zset  SCHEDULED job ids by run_at (ms)
--   KEYS[2]  retry      zset  RETRYING job ids by next attempt (ms)
--   KEYS[3]  leases     zset  ACTIVE job ids by lease deadline (ms)
--   KEYS[4]  dead       zset  DEAD job ids by time of death (ms)
--   KEYS[5]  finished   zset  SUCCEEDED/CANCELLED job ids by finish time (ms)
--   KEYS[6]  paused     set   paused priorities
--   KEYS[7]  seq        str   dispatch counter indexing the weighted pattern
--   KEYS[8]  cursor     hash  priority -> counter rotating the first type tried
--   KEYS[9]  types      set   every job type ever submitted
--   KEYS[10] limits     hash  job type -> JSON {r: rate/s, b: burst, c: concurrency}
--   KEYS[11] active     hash  job type -> number of ACTIVE jobs
--   KEYS[12] events     stream recent transitions (reserved for the events feed)
--   KEYS[13] holds      hash  worker id -> ms until which it gets no new jobs
--
-- ARGV[1..8] key prefixes completed with ids (data-named keys share the same tag):
--   job hash, history list, ready list, inflight set, job channel, ready-types set,
--   token bucket, idempotency key.
-- ARGV[9]  now, Unix ms (time is injected, never read here)
-- ARGV[10] history cap: events kept per job
-- ARGV[11] control channel name
-- Script-specific arguments start at ARGV[A] (A = 12).

local P_JOB, P_HIST, P_READY, P_INFLIGHT = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local P_EV, P_TYPES, P_BUCKET, P_IDEM = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local NOW = tonumber(ARGV[9])
local HIST_CAP = tonumber(ARGV[10])
local CTL = ARGV[11]
local A = 12

local K_SCHEDULED, K_RETRY, K_LEASES, K_DEAD, K_FINISHED = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_PAUSED, K_SEQ, K_CURSOR, K_TYPES = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_LIMITS, K_ACTIVE, K_HOLDS = KEYS[10], KEYS[11], KEYS[13]

-- Types that got ready work in this call, and workers that got a free slot: each is
-- announced once on the control channel at the end (see announce()).
local woken_types = {}
local freed_workers = {}

local function ready_key(prio, jtype)
  return P_READY .. prio .. ':' .. jtype
end

-- Append a transition to the job's capped history and tell watchers.
-- `err` is nil or a table {type=..., message=..., traceback=...}.
local function record(id, from, to, attempt, worker, err)
  local ev = {t = tostring(NOW), f = from, s = to, a = tonumber(attempt) or 0}
  if worker and worker ~= '' then ev.w = worker end
  if err then
    ev.et = err.type
    ev.em = err.message
    ev.tb = err.traceback
  end
  local hk = P_HIST .. id
  redis.call('RPUSH', hk, cjson.encode(ev))
  redis.call('LTRIM', hk, -HIST_CAP, -1)
  redis.call('PUBLISH', P_EV .. id, to)
end

-- Put a job on its ready list (front = true for jobs handed back or recovered, which
-- already waited their turn once).
local function make_ready(id, prio, jtype, front)
  local rk = ready_key(prio, jtype)
  if front then
    redis.call('LPUSH', rk, id)
  else
    redis.call('RPUSH', rk, id)
  end
  redis.call('SADD', P_TYPES .. prio, jtype)
  redis.call('HSET', P_JOB .. id, 'state', 'enqueued', 'ready', NOW)
  woken_types[jtype] = true
end

-- Forget an ACTIVE job's lease: leases zset, worker slot, per-type active count.
local function drop_lease(id, wid, jtype)
  redis.call('ZREM', K_LEASES, id)
  if wid and wid ~= '' then
    redis.call('SREM', P_INFLIGHT .. wid, id)
    freed_workers[wid] = true
  end
  if jtype and redis.call('HINCRBY', K_ACTIVE, jtype, -1) <= 0 then
    redis.call('HDEL', K_ACTIVE, jtype)
  end
  redis.call('HDEL', P_JOB .. id, 'deadline', 'sid')
end

-- Move a job to the DLQ. Dead jobs keep no TTL: the janitor enforces DLQ retention.
local function to_dead(id, from, attempt, wid, err)
  redis.call('HSET', P_JOB .. id, 'state', 'dead', 'finished', NOW,
    'last_error', (err and (err.type .. ': ' .. err.message)) or '')
  redis.call('ZADD', K_DEAD, NOW, id)
  record(id, from, 'dead', attempt, wid, err)
end

-- A lease ended without an outcome (expired, or the worker's stream closed). The
-- attempt was counted at delivery, so a job that keeps killing its workers still
-- reaches the DLQ; otherwise it goes back to the front of its queue.
local function lost(id, f_state, attempt, retries, wid, prio, jtype, err)
  drop_lease(id, wid, jtype)
  if tonumber(attempt) > tonumber(retries) then
    to_dead(id, f_state, attempt, wid, err)
    return 'dead'
  end
  redis.call('HSET', P_JOB .. id, 'last_error', err.type .. ': ' .. err.message)
  make_ready(id, prio, jtype, true)
  record(id, f_state, 'enqueued', attempt, wid, err)
  return 'enqueued'
end

-- Publish the collected wake-ups: "w <type>" for new ready work, "s <worker>" for
-- freed slots. Brokers route them to their waiting streams.
local function announce()
  for jtype, _ in pairs(woken_types) do
    redis.call('PUBLISH', CTL, 'w ' .. jtype)
  end
  for wid, _ in pairs(freed_workers) do
    redis.call('PUBLISH', CTL, 's ' .. wid)
  end
end

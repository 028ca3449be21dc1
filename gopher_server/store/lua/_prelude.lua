-- Shared prelude, prepended to every Gopher script when it is loaded: the KEYS and
-- ARGV every script receives, as named locals, and the checks of a call's arguments.
-- The block below is generated from gopher_server/store/contracts.py (COMMON_KEYS,
-- COMMON_ARGV); each script opens with its own generated block for ARGV[A] on.
--
-- Data-named keys are completed from the prefixes (they share the same hash tag), and
-- K_EVENTS .. ':m:' .. minute is a hash "<state>\t<type>" -> transitions that minute
-- (the throughput history, expiring).
-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- KEYS (the same fixed list for every script, all in one hash-tag slot):
--   KEYS[1]  K_SCHEDULED (zset, Keys.scheduled): SCHEDULED job ids by run_at (ms)
--   KEYS[2]  K_RETRY (zset, Keys.retrying): RETRYING job ids by next attempt (ms)
--   KEYS[3]  K_LEASES (zset, Keys.leases): ACTIVE job ids by lease deadline (ms)
--   KEYS[4]  K_DEAD (zset, Keys.dead): DEAD job ids by time of death (ms)
--   KEYS[5]  K_FINISHED (zset, Keys.finished): SUCCEEDED/CANCELLED job ids by finish time (ms)
--   KEYS[6]  K_PAUSED (set, Keys.paused): paused priorities
--   KEYS[7]  K_SEQ (str, Keys.dispatch_seq): dispatch counter indexing the weighted pattern
--   KEYS[8]  K_CURSOR (hash, Keys.type_cursor): priority -> counter rotating the first type tried
--   KEYS[9]  K_TYPES (set, Keys.known_types): every job type ever submitted
--   KEYS[10]  K_LIMITS (hash, Keys.rate_limits): job type -> JSON {r: rate/s, b: burst, c: concurrency}
--   KEYS[11]  K_ACTIVE (hash, Keys.type_active): job type -> number of ACTIVE jobs
--   KEYS[12]  K_EVENTS (stream, Keys.events): the global feed of recent transitions (capped)
--   KEYS[13]  K_HOLDS (hash, Keys.worker_holds): worker id -> ms until which it gets no new jobs
--   KEYS[14]  K_CIRCUITS (hash, Keys.circuits): "<worker>\t<type>" -> "<state>:<until ms>"
--   KEYS[15]  K_IDS (zset, Keys.job_ids): every stored job id, scored 0 (the id-prefix index)
-- ARGV, the same head for every script:
--   ARGV[1]  P_JOB (str): job hash key prefix (+ job id)
--   ARGV[2]  P_HIST (str): history list key prefix (+ job id), jobs from before hn
--   ARGV[3]  P_READY (str): ready list key prefix (+ priority ':' type)
--   ARGV[4]  P_INFLIGHT (str): inflight set key prefix (+ worker id)
--   ARGV[5]  P_EV (str): job channel prefix (+ job id)
--   ARGV[6]  P_TYPES (str): ready-types set key prefix (+ priority)
--   ARGV[7]  P_BUCKET (str): token bucket key prefix (+ job type)
--   ARGV[8]  P_IDEM (str): idempotency key prefix (+ client key)
--   ARGV[9]  NOW (int, Unix ms): now (time is injected, never read in a script)
--   ARGV[10]  HIST_CAP (int): events kept per job history
--   ARGV[11]  CTL (str): control channel name
--   ARGV[12]  FEED_CAP (int): events feed cap, approximate (0 turns the feed off)
--   ARGV[13]  IDEM_TTL (int, ms): idempotency TTL, for jobs created with a key
--   ARGV[14]  CHUNK_BYTES (int, bytes): payload chunk size: hash-max-listpack-value
--   ARGV[15]  MAX_CHUNKS (int): most chunks per payload (0 or 1: never split)
--   ARGV[16]  P_GROUP (str): group hash key prefix (+ group id)
--   ARGV[17]  GROUP_RETENTION (int, ms): retention of finished groups
-- Script-specific arguments start at ARGV[A] (A = 18).
local K_SCHEDULED = KEYS[1]
local K_RETRY = KEYS[2]
local K_LEASES = KEYS[3]
local K_DEAD = KEYS[4]
local K_FINISHED = KEYS[5]
local K_PAUSED = KEYS[6]
local K_SEQ = KEYS[7]
local K_CURSOR = KEYS[8]
local K_TYPES = KEYS[9]
local K_LIMITS = KEYS[10]
local K_ACTIVE = KEYS[11]
local K_EVENTS = KEYS[12]
local K_HOLDS = KEYS[13]
local K_CIRCUITS = KEYS[14]
local K_IDS = KEYS[15]
local P_JOB = ARGV[1]
local P_HIST = ARGV[2]
local P_READY = ARGV[3]
local P_INFLIGHT = ARGV[4]
local P_EV = ARGV[5]
local P_TYPES = ARGV[6]
local P_BUCKET = ARGV[7]
local P_IDEM = ARGV[8]
local NOW = tonumber(ARGV[9])
local HIST_CAP = tonumber(ARGV[10])
local CTL = ARGV[11]
local FEED_CAP = tonumber(ARGV[12])
local IDEM_TTL = tonumber(ARGV[13])
local CHUNK_BYTES = tonumber(ARGV[14])
local MAX_CHUNKS = tonumber(ARGV[15])
local P_GROUP = ARGV[16]
local GROUP_RETENTION = tonumber(ARGV[17])
local A = 18
-- contract:end

-- The publish command for announcements: on Redis Cluster, store/lua_sources.py puts
-- 'SPUBLISH' here, so a message stays on the shard of the script's own slot.
local PUBLISH = 'PUBLISH'

-- Argument `i`, named `name`, as a number; a call that passes anything else fails
-- before it changes anything.
local function num_arg(i, name)
  local v = tonumber(ARGV[i])
  if v == nil then
    error('ARGV[' .. i .. '] ' .. name .. ' must be a number, got ' .. tostring(ARGV[i]))
  end
  return v
end

-- The call passed exactly / at least `n` arguments.
local function check_argc(n)
  if #ARGV ~= n then error('expected ' .. n .. ' ARGV, got ' .. #ARGV) end
end

local function check_argc_at_least(n)
  if #ARGV < n then error('expected at least ' .. n .. ' ARGV, got ' .. #ARGV) end
end

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
--   KEYS[12] events     stream the global feed of recent transitions (capped)
--   KEYS[13] holds      hash  worker id -> ms until which it gets no new jobs
--   KEYS[14] circuits   hash  "<worker>\t<type>" -> "<state>:<until ms>", breakers
--                             holding a type back from a worker
--   KEYS[15] ids      zset  every stored job id, scored 0 (the id-prefix index)
--
-- Data-named keys also derived here: KEYS[12] .. ':m:' .. minute, a hash
-- "<state>\t<type>" -> transitions that minute (the throughput history, expiring).
--
-- ARGV[1..8] key prefixes completed with ids (data-named keys share the same tag):
--   job hash, history list, ready list, inflight set, job channel, ready-types set,
--   token bucket, idempotency key.
-- ARGV[9]  now, Unix ms (time is injected, never read here)
-- ARGV[10] history cap: events kept per job
-- ARGV[11] control channel name
-- ARGV[12] events feed cap: approximate most entries kept (0 turns the feed off)
-- ARGV[13] idempotency TTL, ms (for jobs created with a key, follow-ups included)
-- ARGV[14] payload chunk size, bytes: Redis' hash-max-listpack-value (see split_payload)
-- ARGV[15] most chunks a payload is split into (0 or 1: never split)
-- ARGV[16] group hash prefix (+ group id), see _groups.lua
-- ARGV[17] retention of finished groups, ms (a group's hash expires then)
-- Script-specific arguments start at ARGV[A] (A = 18).

local P_JOB, P_HIST, P_READY, P_INFLIGHT = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local P_EV, P_TYPES, P_BUCKET, P_IDEM = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
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

local K_SCHEDULED, K_RETRY, K_LEASES, K_DEAD, K_FINISHED = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_PAUSED, K_SEQ, K_CURSOR, K_TYPES = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_LIMITS, K_ACTIVE, K_EVENTS, K_HOLDS = KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local K_CIRCUITS, K_IDS = KEYS[14], KEYS[15]

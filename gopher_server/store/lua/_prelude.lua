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
-- Per-minute throughput counters live this long: the last hour is read, and a
-- counter outlives its hour by a margin.
local THROUGHPUT_TTL_S = 7200
local COUNTED = {succeeded = true, retrying = true, dead = true, cancelled = true}

-- Types that got ready work in this call, and workers that got a free slot: each is
-- announced once on the control channel at the end (see announce()).
local woken_types = {}
local freed_workers = {}

-- Fields at their most common value are not stored: every field left out of a queued
-- job's hash is memory saved per job. Absent 'prio' reads as 'normal' and absent
-- 'retries' as 3 (the contract's default). These are storage constants, not broker
-- defaults: they must never change, or stored jobs would read differently. Every
-- reader goes through prio_of/retries_of; gopher_server/store/job_hash.py agrees.
local PRIO_UNSTORED, RETRIES_UNSTORED = 'normal', 3

local function prio_of(stored)
  if not stored or stored == '' then return PRIO_UNSTORED end
  return stored
end

local function retries_of(stored)
  return tonumber(stored) or RETRIES_UNSTORED
end

-- Payload chunking. Redis keeps a hash in its compact listpack encoding only while
-- every value is at most hash-max-listpack-value bytes (64 by default); one longer
-- value turns the whole hash into a real hashtable, about twice the memory of a job
-- with a 100-byte payload. So a payload over that size is stored as several values of
-- at most CHUNK_BYTES bytes: 'payload' holds the first chunk, 'p2', 'p3', ... the rest
-- (short names: each name is stored in every job hash), and 'pn' the number of chunks,
-- present only when there is more than one (a reader then knows what to fetch without
-- probing). The split never cuts a UTF-8 character: clients decode every value on its
-- own, so each chunk must be valid UTF-8; joining them gives the payload byte for byte.
-- At most MAX_CHUNKS chunks keep the hash within hash-max-listpack-entries with room
-- for its other fields, and listpack lookups (linear scans) short; a longer payload
-- stays one value, as its hash costs little more than the payload itself anyway.
local function chunk_field(i)
  if i == 1 then return 'payload' end
  return 'p' .. i
end

-- The chunks of `payload`, or nil when it is stored as one value.
local function split_payload(payload)
  local n = #payload
  if n <= CHUNK_BYTES or MAX_CHUNKS < 2 then return nil end
  local parts, i = {}, 1
  while i <= n do
    if #parts == MAX_CHUNKS then return nil end
    local j = i + CHUNK_BYTES  -- first byte of the next chunk
    if j <= n then
      -- 0x80-0xBF are UTF-8 continuation bytes: back off to the start of a character.
      local b = string.byte(payload, j)
      while b >= 128 and b < 192 and j > i + 1 do
        j = j - 1
        b = string.byte(payload, j)
      end
    end
    parts[#parts + 1] = string.sub(payload, i, j - 1)
    i = j
  end
  return parts
end

-- Append the payload's hash fields (name, value, ...) to `fields`.
local function payload_fields(fields, payload)
  local parts = split_payload(payload)
  if not parts then
    fields[#fields + 1] = 'payload'
    fields[#fields + 1] = payload
    return
  end
  for i, part in ipairs(parts) do
    fields[#fields + 1] = chunk_field(i)
    fields[#fields + 1] = part
  end
  fields[#fields + 1] = 'pn'
  fields[#fields + 1] = #parts
end

-- The whole payload of job hash `jk`, given its 'payload' and 'pn' values as read.
local function join_payload(jk, first, count)
  count = tonumber(count) or 1
  if count < 2 then return first end
  local names = {}
  for i = 2, count do names[#names + 1] = chunk_field(i) end
  local rest = redis.call('HMGET', jk, unpack(names))
  -- A chunk cannot be missing while its hash exists (all are written in one HSET);
  -- should one be anyway, the job gets a broken payload rather than failing the
  -- whole script, which could have popped other jobs already.
  for k = 1, #rest do rest[k] = rest[k] or '' end
  return (first or '') .. table.concat(rest)
end

local function ready_key(prio, jtype)
  return P_READY .. prio .. ':' .. jtype
end

-- Append one entry to the global events feed. It is on every transition's path, so
-- the entry stays tiny (one-letter fields, the error's kind only) and the stream is
-- trimmed approximately (whole nodes, O(1) amortised). The entry id is Redis's own
-- clock (always increasing); `t` is the injected time the job history also uses.
local function feed(id, jtype, from, to, attempt, worker, etype)
  if COUNTED[to] then  -- one HINCRBY per outcome; the TTL is set once per field
    local tk = K_EVENTS .. ':m:' .. math.floor(NOW / 60000)
    if redis.call('HINCRBY', tk, to .. '\t' .. (jtype or ''), 1) == 1 then
      redis.call('EXPIRE', tk, THROUGHPUT_TTL_S)
    end
  end
  if FEED_CAP <= 0 then return end
  local args = {'XADD', K_EVENTS, 'MAXLEN', '~', FEED_CAP, '*', 'j', id, 'y', jtype or '',
    'f', from, 's', to, 'a', attempt or 0, 't', NOW}
  if worker and worker ~= '' then
    args[#args + 1] = 'w'
    args[#args + 1] = worker
  end
  if etype then
    args[#args + 1] = 'e'
    args[#args + 1] = etype
  end
  redis.call(unpack(args))
end

-- Append a transition to the job's capped history and the events feed, and tell
-- watchers. `err` is nil or a table {type=..., message=..., traceback=...}.
local function record(id, jtype, from, to, attempt, worker, err)
  local ev = {t = tostring(NOW), f = from, s = to, a = tonumber(attempt) or 0}
  if worker and worker ~= '' then ev.w = worker end
  if err then
    ev.et = err.type
    ev.em = err.message
    ev.tb = err.traceback
  end
  local hk = P_HIST .. id
  if redis.call('RPUSH', hk, cjson.encode(ev)) > HIST_CAP then  -- trim only when over
    redis.call('LTRIM', hk, -HIST_CAP, -1)
  end
  feed(id, jtype, from, to, ev.a, worker, err and err.type)
  redis.call('PUBLISH', P_EV .. id, to)
end

-- Put a job on its ready list (front = true for jobs handed back or recovered, which
-- already waited their turn once).
local function push_ready(id, prio, jtype, front)
  local rk = ready_key(prio, jtype)
  if front then
    redis.call('LPUSH', rk, id)
  else
    redis.call('RPUSH', rk, id)
  end
  redis.call('SADD', P_TYPES .. prio, jtype)
  woken_types[jtype] = true
end

local function make_ready(id, prio, jtype, front)
  push_ready(id, prio, jtype, front)
  redis.call('HSET', P_JOB .. id, 'state', 'enqueued', 'ready', NOW)
end

-- Forget an ACTIVE job's lease: leases zset, worker slot, per-type active count.
local function drop_lease(id, wid, jtype)
  redis.call('ZREM', K_LEASES, id)
  if wid and wid ~= '' then
    redis.call('SREM', P_INFLIGHT .. wid, id)
    freed_workers[wid] = true
  end
  if jtype then
    local left = redis.call('HINCRBY', K_ACTIVE, jtype, -1)
    if left <= 0 then redis.call('HDEL', K_ACTIVE, jtype) end
    -- A type that was at its concurrency cap may have streams of other workers waiting
    -- for this very slot: wake them all, not only this job's worker.
    local raw = redis.call('HGET', K_LIMITS, jtype)
    if raw then
      local cap = tonumber(cjson.decode(raw).c) or 0
      if cap > 0 and left + 1 >= cap then woken_types[jtype] = true end
    end
  end
  redis.call('HDEL', P_JOB .. id, 'deadline', 'sid')
end

-- The TYPE_LIMIT error reply when creating jobs of `jtypes` (a list, repeats allowed)
-- would take the known types (K_TYPES) over `max_types` (0: no cap), else nil. Checked
-- for a whole batch before any write: an error raised halfway would keep the jobs
-- already created. One SISMEMBER per distinct type (a repeat of an idempotent submit
-- never brings a new type: its first submit already added it).
local function type_cap_error(jtypes, max_types)
  if max_types <= 0 then return nil end
  local seen, count = {}, 0
  for _, jtype in ipairs(jtypes) do
    if not seen[jtype] then
      seen[jtype] = true
      if redis.call('SISMEMBER', K_TYPES, jtype) == 0 then count = count + 1 end
    end
  end
  if count > 0 and redis.call('SCARD', K_TYPES) + count > max_types then
    return redis.error_reply('TYPE_LIMIT the broker knows ' .. redis.call('SCARD', K_TYPES)
      .. ' job types and allows at most ' .. max_types .. '; this would add ' .. count)
  end
  return nil
end

-- Idempotency keys claimed earlier in this call (a batch may repeat one).
local seen_idem = {}

-- Create one job from table `j` (every field a string; '' means "not set"): id, type,
-- prio, payload, retries, run_at (ms, number; <= NOW means ready now), idem,
-- timeout_ms, lease_ms, bo_base, bo_factor, bo_max, trace, on_ok, on_fail (follow-up
-- specs, JSON), parent (id of the job that submitted it), and optionally grp (the
-- group it is a member of) and pgrp (the group whose outcome submitted it). Returns
-- id, state, duplicate (1 when the idempotency key matched an earlier job, which is
-- returned instead).
local function create_job(j)
  local existing = nil
  if j.idem ~= '' then
    existing = seen_idem[j.idem] or redis.call('GET', P_IDEM .. j.idem)
  end
  if existing then
    return existing, redis.call('HGET', P_JOB .. existing, 'state') or 'succeeded', 1
  end
  local fields = {'type', j.type}
  if prio_of(j.prio) ~= PRIO_UNSTORED then
    fields[#fields + 1] = 'prio'
    fields[#fields + 1] = j.prio
  end
  payload_fields(fields, j.payload)
  if retries_of(j.retries) ~= RETRIES_UNSTORED then
    fields[#fields + 1] = 'retries'
    fields[#fields + 1] = j.retries
  end
  fields[#fields + 1] = 'created'
  fields[#fields + 1] = NOW
  local optional = {'idem', j.idem, 'timeout_ms', j.timeout_ms, 'lease_ms', j.lease_ms,
    'bo_base', j.bo_base, 'bo_factor', j.bo_factor, 'bo_max', j.bo_max, 'trace', j.trace,
    'on_ok', j.on_ok, 'on_fail', j.on_fail, 'parent', j.parent, 'grp', j.grp or '',
    'pgrp', j.pgrp or ''}
  -- '' is "not set" for every field. '0' also means "default" for timeout and lease
  -- only: a backoff of 0 (retry at once) or an idempotency key "0" is a real value.
  for k = 1, #optional, 2 do
    local name, v = optional[k], optional[k + 1]
    if v ~= '' and not (v == '0' and (name == 'timeout_ms' or name == 'lease_ms')) then
      fields[#fields + 1] = name
      fields[#fields + 1] = v
    end
  end
  local state = 'enqueued'
  fields[#fields + 1] = 'state'
  if j.run_at > NOW then
    state = 'scheduled'
    fields[#fields + 1] = state
    fields[#fields + 1] = 'run_at'
    fields[#fields + 1] = j.run_at
  else
    -- Ready at creation: 'ready' is left out and reads as 'created' (saves memory
    -- per queued job).
    fields[#fields + 1] = state
  end
  redis.call('HSET', P_JOB .. j.id, unpack(fields))
  if state == 'scheduled' then
    redis.call('ZADD', K_SCHEDULED, j.run_at, j.id)
  else
    push_ready(j.id, prio_of(j.prio), j.type, false)
  end
  redis.call('SADD', K_TYPES, j.type)
  redis.call('ZADD', K_IDS, 0, j.id)
  if j.idem ~= '' then
    redis.call('SET', P_IDEM .. j.idem, j.id, 'PX', IDEM_TTL)
    seen_idem[j.idem] = j.id
  end
  feed(j.id, j.type, '', state, 0, nil, nil)
  return j.id, state, 0
end

-- The create_job table of a job passed as 15 script arguments from ARGV[b] on (the
-- layout submit.lua documents).
local function job_from_args(b)
  return {id = ARGV[b], type = ARGV[b + 1], prio = ARGV[b + 2],
    payload = ARGV[b + 3], retries = ARGV[b + 4], run_at = tonumber(ARGV[b + 5]),
    idem = ARGV[b + 6], timeout_ms = ARGV[b + 7], lease_ms = ARGV[b + 8],
    bo_base = ARGV[b + 9], bo_factor = ARGV[b + 10], bo_max = ARGV[b + 11],
    trace = ARGV[b + 12], on_ok = ARGV[b + 13], on_fail = ARGV[b + 14], parent = ''}
end

-- Put `"<key>": <outcome>` first in a payload that validation proved to be a JSON
-- object without that key ("parent" for a chain, "group" for a group's follow-up).
-- Text splicing keeps the payload byte for byte (a decode/encode round trip through
-- cjson would mangle numbers and empty arrays).
local function with_outcome(payload, key, outcome)
  local _, e = string.find(payload, '^%s*{%s*')
  local rest = string.sub(payload, e + 1)
  local head = '{"' .. key .. '":' .. outcome
  if string.sub(rest, 1, 1) == '}' then return head .. rest end
  return head .. ',' .. rest
end

-- Create follow-up spec `s` (as store/chains.py writes it) unless it exists already
-- (its id was fixed at submit, so a second run of the same branch makes nothing new),
-- with `payload` spliced, `trace` when the spec has none, and `parent` / `pgrp` naming
-- the job or the group whose outcome submitted it. Returns the follow-up's id (an
-- earlier job's when its idempotency key matched one).
local function make_follow_up(s, payload, trace, parent, pgrp)
  if redis.call('EXISTS', P_JOB .. s.id) == 1 then return s.id end
  local delay = tonumber(s.delay_ms) or 0
  return (create_job({id = s.id, type = s.type, prio = s.prio, payload = payload,
    retries = s.retries, run_at = (delay > 0 and NOW + delay) or 0, idem = s.idem or '',
    timeout_ms = s.timeout_ms or '', lease_ms = s.lease_ms or '',
    bo_base = s.bo_base or '', bo_factor = s.bo_factor or '', bo_max = s.bo_max or '',
    trace = s.trace or trace, on_ok = s.on_ok or '', on_fail = s.on_fail or '',
    parent = parent, pgrp = pgrp}))
end

-- Submit the follow-ups `specs` (a job's stored on_ok or on_fail JSON, or nil) of job
-- `id`, which just reached `state`; `key` ('result' or 'error') and `value` (JSON text
-- of the result, or the error summary) describe the outcome to them. Follow-up ids were
-- fixed at submit, so one that exists already (from an earlier run of the same branch,
-- e.g. after a DLQ requeue) is not made twice. Their ids are kept on the parent.
local function follow_up(id, jtype, specs, state, key, value)
  if not specs or specs == '' then return end
  if key ~= 'result' or not pcall(cjson.decode, value) then
    value = cjson.encode(value)  -- an error, or a result that is not JSON: a JSON string
  end
  local parent = '{"id":' .. cjson.encode(id) .. ',"type":' .. cjson.encode(jtype) ..
    ',"state":"' .. state .. '","' .. key .. '":' .. value .. '}'
  local trace = redis.call('HGET', P_JOB .. id, 'trace') or ''
  local ids = {}
  for _, s in ipairs(cjson.decode(specs)) do
    ids[#ids + 1] = make_follow_up(s, with_outcome(s.payload, 'parent', parent), trace, id, '')
  end
  redis.call('HSET', P_JOB .. id, 'follow_ups', table.concat(ids, ','))
end

-- A group member reached a final state: count it in its group (see _groups.lua, which
-- every script includes right after this prelude and which sets this function). Called
-- as member_final(group id, job id, type, state, 'result' | 'error' | nil, value).
local member_final

-- Move a job to the DLQ (and submit its on_failure follow-ups). Dead jobs keep no
-- TTL: the janitor enforces DLQ retention.
local function to_dead(id, jtype, from, attempt, wid, err)
  local summary = (err and (err.type .. ': ' .. err.message)) or ''
  redis.call('HSET', P_JOB .. id, 'state', 'dead', 'finished', NOW, 'last_error', summary)
  redis.call('ZADD', K_DEAD, NOW, id)
  record(id, jtype, from, 'dead', attempt, wid, err)
  local f = redis.call('HMGET', P_JOB .. id, 'on_fail', 'grp')
  follow_up(id, jtype, f[1], 'dead', 'error', summary)
  if f[2] then member_final(f[2], id, jtype, 'dead', 'error', summary) end
end

-- A lease ended without an outcome (expired, or the worker's stream closed). The
-- attempt was counted at delivery, so a job that keeps killing its workers still
-- reaches the DLQ; otherwise it goes back to the front of its queue. `retries` is a
-- number, `prio` a word (see retries_of, prio_of).
local function lost(id, f_state, attempt, retries, wid, prio, jtype, err)
  drop_lease(id, wid, jtype)
  if tonumber(attempt) > retries then
    to_dead(id, jtype, f_state, attempt, wid, err)
    return 'dead'
  end
  redis.call('HSET', P_JOB .. id, 'last_error', err.type .. ': ' .. err.message)
  make_ready(id, prio, jtype, true)
  record(id, jtype, f_state, 'enqueued', attempt, wid, err)
  return 'enqueued'
end

-- `out` with the workers whose slots this call freed appended, so the broker that ran
-- the call can wake its own streams at once rather than after its copy of "s <worker>"
-- comes back through pub/sub.
local function with_freed(out)
  for wid, _ in pairs(freed_workers) do out[#out + 1] = wid end
  return out
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

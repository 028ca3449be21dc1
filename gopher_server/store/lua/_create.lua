-- Creating jobs: a submit's, a group member's, or a follow-up submitted by an outcome.

-- Idempotency keys claimed earlier in this call (a batch may repeat one).
local seen_idem = {}
-- Job types this call added to the known types already (the set only grows).
local types_known = {}

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
  -- Its history is kept in this hash (_history.lua history_put), none yet.
  fields[#fields + 1] = HIST_COUNT
  fields[#fields + 1] = 0
  local optional = {'idem', j.idem, 'timeout_ms', j.timeout_ms, 'lease_ms', j.lease_ms,
    'bo_base', j.bo_base, 'bo_factor', j.bo_factor, 'bo_max', j.bo_max, 'trace', j.trace,
    'on_ok', j.on_ok, 'on_fail', j.on_fail, 'parent', j.parent or '', 'grp', j.grp or '',
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
  if not types_known[j.type] then
    types_known[j.type] = true
    redis.call('SADD', K_TYPES, j.type)
  end
  later('ZADD', K_IDS, 0, j.id)  -- one ZADD per call (_batch.lua)
  if j.idem ~= '' then
    redis.call('SET', P_IDEM .. j.idem, j.id, 'PX', IDEM_TTL)
    seen_idem[j.idem] = j.id
  end
  feed(j.id, j.type, '', state, 0, nil, nil)
  return j.id, state, 0
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

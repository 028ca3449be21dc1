-- Groups (fan-out / fan-in): included by every script whose transitions may end a
-- member (its final outcome counts in its group) or create a group.
--
-- A group is one hash, P_GROUP .. <group id> (store/keys.py `group`), fields:
--   state      'running' until the last member is final, then 'succeeded' (every
--              member succeeded), 'failed' (one died) or 'cancelled' (none died, one
--              was cancelled)
--   size       number of members;   left   members not counted final yet
--   members    member ids, comma-separated, in submission order
--   succeeded, dead, cancelled      members counted in each final state
--   o:<id>     a counted member's outcome, JSON {"id","type","state","result"|"error"}
--   on_done, on_ok, on_fail         follow-up specs (store/chains.py), '' = none
--   trace      trace context for follow-ups without their own ('' = none)
--   idem       the client's idempotency key, if any
--   created, finished (ms)          follow_ups   ids the outcome submitted
-- Each member's job hash names its group in 'grp'.
--
-- Exactly once by construction: a member is counted by an HSETNX of its outcome, so a
-- second final transition of the same member (a requeued dead job dying again) counts
-- nothing; the member whose count takes 'left' to 0 runs complete_group in its own
-- transition's script, and only a 'running' group is counted at all. Follow-up ids are
-- fixed at submit and an existing follow-up is never made again.

-- Append the JSON text of a member's outcome to `out`.
local function outcome_json(id, jtype, state, key, value)
  local text = '{"id":' .. cjson.encode(id) .. ',"type":' .. cjson.encode(jtype or '') ..
    ',"state":"' .. state .. '"'
  if key then
    if key ~= 'result' or not pcall(cjson.decode, value) then
      value = cjson.encode(value)  -- an error, or a result that is not JSON: a string
    end
    text = text .. ',"' .. key .. '":' .. value
  end
  return text .. '}'
end

-- The outcomes of every member, in submission order, as one JSON array text.
local function member_outcomes(gk, members)
  local parts, names = {}, {}
  local function flush()
    if #names == 0 then return end
    for _, o in ipairs(redis.call('HMGET', gk, unpack(names))) do
      parts[#parts + 1] = o or 'null'  -- cannot happen: every member was counted
    end
    names = {}
  end
  for mid in string.gmatch(members, '[^,]+') do
    names[#names + 1] = 'o:' .. mid
    if #names == 500 then flush() end  -- unpack() has a stack limit
  end
  flush()
  return '[' .. table.concat(parts, ',') .. ']'
end

-- Every member is final: settle the group's state and submit its follow-ups, with
-- the outcome under the payload key "group".
local function complete_group(gid)
  local gk = P_GROUP .. gid
  local g = redis.call('HMGET', gk, 'members', 'dead', 'cancelled', 'on_done', 'on_ok',
    'on_fail', 'trace')
  local state = 'succeeded'
  if (tonumber(g[2]) or 0) > 0 then
    state = 'failed'
  elseif (tonumber(g[3]) or 0) > 0 then
    state = 'cancelled'
  end
  local outcome = '{"id":' .. cjson.encode(gid) .. ',"state":"' .. state ..
    '","members":' .. member_outcomes(gk, g[1]) .. '}'
  local ids = {}
  local function submit(specs)
    if not specs or specs == '' then return end
    for _, s in ipairs(cjson.decode(specs)) do
      ids[#ids + 1] = make_follow_up(s, with_outcome(s.payload, 'group', outcome),
        g[7] or '', '', gid)
    end
  end
  submit(g[4])
  if state == 'succeeded' then submit(g[5]) elseif state == 'failed' then submit(g[6]) end
  redis.call('HSET', gk, 'state', state, 'finished', NOW, 'follow_ups', table.concat(ids, ','))
  redis.call('PEXPIRE', gk, GROUP_RETENTION)
end

-- A group member reached a final state: count it in its group. Called as
-- member_final(group id, job id, type, state, 'result' | 'error' | nil, value).
local function member_final(gid, id, jtype, state, key, value)
  local gk = P_GROUP .. gid
  if redis.call('HGET', gk, 'state') ~= 'running' then return end  -- done, or expired
  if redis.call('HSETNX', gk, 'o:' .. id, outcome_json(id, jtype, state, key, value)) == 0 then
    return
  end
  redis.call('HINCRBY', gk, state, 1)
  if redis.call('HINCRBY', gk, 'left', -1) <= 0 then complete_group(gid) end
end

-- A counted dead member goes back to work (requeued from the DLQ): while its group
-- still runs, the group waits for the member's new outcome instead.
local function member_requeued(gid, id)
  local gk = P_GROUP .. gid
  if redis.call('HGET', gk, 'state') ~= 'running' then return end
  if redis.call('HDEL', gk, 'o:' .. id) == 1 then
    redis.call('HINCRBY', gk, 'dead', -1)
    redis.call('HINCRBY', gk, 'left', 1)
  end
end

-- Create group `g` = {id, idem (client key, '' = none), on_done, on_ok, on_fail, trace,
-- jobs (tables for create_job)} and its members. Returns a flat array of the members'
-- (id, state, duplicate) triples.
local function create_group(g)
  local ids, out = {}, {}
  for _, j in ipairs(g.jobs) do
    j.grp = g.id
    local id, state, dup = create_job(j)
    ids[#ids + 1] = id
    out[#out + 1] = id
    out[#out + 1] = state
    out[#out + 1] = dup
  end
  local fields = {'state', 'running', 'size', #ids, 'left', #ids, 'members',
    table.concat(ids, ','), 'created', NOW}
  local optional = {'on_done', g.on_done, 'on_ok', g.on_ok, 'on_fail', g.on_fail,
    'trace', g.trace, 'idem', g.idem}
  for k = 1, #optional, 2 do
    if optional[k + 1] ~= '' then
      fields[#fields + 1] = optional[k]
      fields[#fields + 1] = optional[k + 1]
    end
  end
  redis.call('HSET', P_GROUP .. g.id, unpack(fields))
  return out
end

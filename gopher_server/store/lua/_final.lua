-- Final outcomes: a job's follow-ups submitted by its outcome, and the DLQ.

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

-- Move a job to the DLQ (and submit its on_failure follow-ups). Dead jobs keep no
-- TTL: the janitor enforces DLQ retention.
local function to_dead(id, jtype, from, attempt, wid, err)
  local summary = (err and (err.type .. ': ' .. err.message)) or ''
  redis.call('HSET', P_JOB .. id, 'state', 'dead', 'finished', NOW, 'last_error', summary)
  redis.call('ZADD', K_DEAD, NOW, id)
  record(id, jtype, from, 'dead', attempt, wid, err)
  local f = redis.call('HMGET', P_JOB .. id, 'on_fail', 'grp', 'follow_ups')
  -- Follow-ups recorded already mean an earlier death (requeued from the DLQ since;
  -- a success is final) made them: not again, even if they expired meanwhile.
  if not f[3] then follow_up(id, jtype, f[1], 'dead', 'error', summary) end
  if f[2] then member_final(f[2], id, jtype, 'dead', 'error', summary) end
end

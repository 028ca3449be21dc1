-- Leases ending: an ACTIVE job's lease forgotten (acked, failed, cancelled) or lost
-- (expired, stream closed).

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

-- Leases ending: an ACTIVE job's lease forgotten (acked, failed, cancelled) or lost
-- (expired, stream closed).

-- A type's ACTIVE count after a batch of lease ends (`delta` < 0) was settled: a count
-- down to 0 is removed, and a type that was at its concurrency cap may have streams of
-- other workers waiting for this very slot: wake them all, not only this job's worker.
local function active_settled(key, jtype, left, delta)
  if delta >= 0 then return end
  if left <= 0 then redis.call('HDEL', key, jtype) end
  local raw = redis.call('HGET', K_LIMITS, jtype)
  if raw then
    local cap = tonumber(cjson.decode(raw).c) or 0
    if cap > 0 and left - delta >= cap then woken_types[jtype] = true end
  end
end

-- Forget an ACTIVE job's lease: leases zset, worker slot, per-type active count (the
-- index and counter updates are batched, see _batch.lua).
local function drop_lease(id, wid, jtype)
  later('ZREM', K_LEASES, id)
  if wid and wid ~= '' then
    later('SREM', P_INFLIGHT .. wid, id)
    freed_workers[wid] = true
  end
  if jtype then later_hincrby(K_ACTIVE, jtype, -1, active_settled) end
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

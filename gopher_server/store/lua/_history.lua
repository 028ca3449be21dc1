-- A job's history and the global events feed: every transition appends one entry to
-- each (store/schema.py declares both forms) and tells the job's watchers, if it has
-- any (watch.lua marks a watched job).

-- Per-minute throughput counters live this long: the last hour is read, and a
-- counter outlives its hour by a margin.
local THROUGHPUT_TTL_S = 7200
local COUNTED = {succeeded = true, retrying = true, dead = true, cancelled = true}

-- Numbers the hot writes send as text, converted once per call rather than once per
-- write (Redis turns every Lua number argument into text with a printf).
local NOW_TEXT = tostring(NOW)
local FEED_CAP_TEXT = tostring(FEED_CAP)
-- The feed entry's one field (store/schema.py FEED_VALUE).
local FEED_VALUE = 'v'

-- A minute's counter field was just made (its count is this batch's): give the hash
-- its TTL, once per field as before batching.
local function throughput_counted(key, _, total, delta)
  if total == delta then redis.call('EXPIRE', key, THROUGHPUT_TTL_S) end
end

-- Append one entry to the global events feed. It is on every transition's path, so
-- the entry stays tiny: one field, FEED_VALUE, whose text is the transition's values
-- separated by single spaces (store/schema.py FEED_PACKED lists them; the error's
-- kind only, last, as it is the one value that may hold spaces). One field rather
-- than one per value: Redis converts every argument of a Lua call into a string
-- object of its own, and a stream stores the field names of an entry only once per
-- node when they match the node's first entry. The stream is trimmed approximately
-- (whole nodes, O(1) amortised). The entry id is Redis's own clock (always
-- increasing); the time in the text is the injected time the job history also uses.
local function feed(id, jtype, from, to, attempt, worker, etype)
  if COUNTED[to] then  -- one HINCRBY per outcome and type per call (_batch.lua)
    local tk = K_EVENTS .. ':m:' .. math.floor(NOW / 60000)
    later_hincrby(tk, to .. '\t' .. (jtype or ''), 1, throughput_counted)
  end
  if FEED_CAP <= 0 then return end
  local text = id .. ' ' .. (jtype or '') .. ' ' .. from .. ' ' .. to .. ' ' ..
    (attempt or 0) .. ' ' .. NOW_TEXT .. ' ' .. (worker or '')
  if etype then text = text .. ' ' .. etype end
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', FEED_CAP_TEXT, '*', FEED_VALUE, text)
end

-- A job's history lives in the job's hash: entry n (1-based) in field HIST_FIELD .. n,
-- their count in HIST_COUNT (store/schema.py HISTORY_COUNT_FIELD). Fields of the job
-- hash rather than a list of its own: the hash is read and written by every
-- transition anyway, so on the hot paths the entry rides on that HSET (a command fewer
-- per transition), and a finished job is one key with one TTL instead of two. A job
-- created with HIST_COUNT absent (before the history moved into the hash) keeps its
-- list P_HIST .. id, as it was, until it goes.
local HIST_COUNT, HIST_FIELD = 'hn', 'h'

-- A history entry's text. Plainly: time, from, to, attempt and worker separated by
-- single spaces (short, so the job hash keeps its compact listpack encoding); with an
-- error, or a worker id holding a space or control character, JSON with the keys of
-- store/schema.py HISTORY_FIELDS (a JSON entry starts with '{', a plain one never does).
local function history_entry(from, to, attempt, worker, err)
  local plain = not worker or worker == '' or not string.find(worker, '[%s%c]')
  if not err and plain then
    return NOW_TEXT .. ' ' .. from .. ' ' .. to .. ' ' .. attempt .. ' ' .. (worker or '')
  end
  local ev = {t = NOW_TEXT, f = from, s = to, a = attempt}
  if worker and worker ~= '' then ev.w = worker end
  if err then
    ev.et = err.type
    ev.em = err.message
    ev.tb = err.traceback
  end
  return cjson.encode(ev)
end

-- Append entry `text` to job `id`'s history, whose count the caller read as `count`
-- (the HIST_COUNT field: text, or false when absent; nil when not read, then it is
-- read here). With `fields` (the caller's pending HSET of the job hash, name/value
-- pairs) the entry is added to it instead of written: the caller's HSET writes both.
-- Past HIST_CAP the oldest entry goes.
local function history_put(id, text, count, fields)
  local jk = P_JOB .. id
  if count == nil then count = redis.call('HGET', jk, HIST_COUNT) end
  if count == false then  -- a job from before the history moved into its hash
    local hk = P_HIST .. id
    if redis.call('RPUSH', hk, text) > HIST_CAP then redis.call('LTRIM', hk, -HIST_CAP, -1) end
    return
  end
  local n = tonumber(count) + 1
  if n > HIST_CAP then redis.call('HDEL', jk, HIST_FIELD .. (n - HIST_CAP)) end
  if fields then
    local k = #fields
    fields[k + 1], fields[k + 2], fields[k + 3], fields[k + 4] = HIST_FIELD .. n, text,
      HIST_COUNT, n
  else
    redis.call('HSET', jk, HIST_FIELD .. n, text, HIST_COUNT, n)
  end
end

-- Append a transition to the job's capped history and the events feed, and tell
-- watchers. `err` is nil or a table {type=..., message=..., traceback=...}.
-- `watched` is the job's 'watch' field when the caller read it with the job hash: a
-- job nobody ever watched (nil there, so false here) publishes nothing, which saves a
-- command per transition on the hot paths (dispatch, ack). Left out (nil), the state
-- is published: callers that did not read the field stay correct without it.
-- `count` and `fields` are history_put's: a caller that read HIST_COUNT with the job
-- hash and writes the hash after this call passes both, and the entry costs no
-- command of its own. Only one record per job may use one read of the count.
local function record(id, jtype, from, to, attempt, worker, err, watched, count, fields)
  attempt = tonumber(attempt) or 0
  history_put(id, history_entry(from, to, attempt, worker, err), count, fields)
  feed(id, jtype, from, to, attempt, worker, err and err.type)
  if watched ~= false then redis.call(PUBLISH, P_EV .. id, to) end
end

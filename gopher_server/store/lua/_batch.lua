-- Deferred writes: index and counter updates a call makes for many jobs, sent as one
-- variadic command per key (and one HINCRBY per field) instead of one per job. A job
-- costs Redis a command per write, so a batch of 50 acks saves ~250 commands here.
--
-- Only writes nothing in the same call reads back go through here (lease and finished
-- sets, worker slots, per-type counters, holds), and flush_writes() runs before any
-- code that reads them: at the start of dispatch_to() and in announce(), which ends
-- every transition script. Scripts are atomic, so nobody else sees the difference.
-- Per key, the order of different commands is kept: a second kind of write to a key
-- with writes pending sends those first.

-- Runs of pending writes in first-use order: {cmd, key, members}; HINCRBY runs keep
-- field -> delta (and the field order) plus an optional callback.
local pending_runs = {}
local pending_by = {}    -- cmd -> key -> run
local pending_cmd = {}   -- key -> the command pending on it

-- Most arguments per variadic call (unpack() has a stack limit).
local BATCH_ARGS = 1000

local function flush_writes()
  for _, run in ipairs(pending_runs) do
    if run.cmd == 'HINCRBY' then
      for _, field in ipairs(run.fields) do
        local delta = run.delta[field]
        if delta ~= 0 or run.after then
          local total = redis.call('HINCRBY', run.key, field, delta)
          if run.after then run.after(run.key, field, total, delta) end
        end
      end
    else
      local args = run.args
      for s = 1, #args, BATCH_ARGS do
        redis.call(run.cmd, run.key, unpack(args, s, math.min(s + BATCH_ARGS - 1, #args)))
      end
    end
  end
  pending_runs, pending_by, pending_cmd = {}, {}, {}
end

local function run_for(cmd, key)
  local pending = pending_cmd[key]
  if pending and pending ~= cmd then flush_writes() end
  local runs = pending_by[cmd]
  if not runs then
    runs = {}
    pending_by[cmd] = runs
  end
  local run = runs[key]
  if not run then
    run = {cmd = cmd, key = key, args = {}, fields = {}, delta = {}}
    pending_runs[#pending_runs + 1] = run
    runs[key] = run
    pending_cmd[key] = cmd
  end
  return run
end

-- Queue `cmd key a [b]` (ZADD key score member; ZREM, SADD, SREM, HDEL key member):
-- arguments of the same command on the same key are sent together.
local function later(cmd, key, a, b)
  local args = run_for(cmd, key).args
  args[#args + 1] = a
  if b ~= nil then args[#args + 1] = b end
end

-- Queue HINCRBY key field delta; increments of one field add up. `after(key, field,
-- total, delta)`, when given, runs after the field's HINCRBY with its new value.
local function later_hincrby(key, field, delta, after)
  local run = run_for('HINCRBY', key)
  if run.delta[field] == nil then
    run.fields[#run.fields + 1] = field
    run.delta[field] = 0
  end
  run.delta[field] = run.delta[field] + delta
  run.after = run.after or after
end

-- The increment of `field` of hash `key` queued and not sent yet (0 for none).
local function pending_hincrby(key, field)
  local run = pending_by.HINCRBY and pending_by.HINCRBY[key]
  return (run and run.delta[field]) or 0
end

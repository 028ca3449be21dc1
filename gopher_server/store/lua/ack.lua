-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- ack: complete ACTIVE jobs whose lease token matches.
--
-- ARGV[A]  retention (int, ms): retention of finished jobs
-- ARGV[A + 1]  n: number of acks, then n records of 3:
--   id (str): job id
--   token (int): lease token
--   result (str): result JSON
-- ARGV[ACKS_AT + n * 3 ...]  optional DISPATCH: the dispatch arguments of a stream (dispatch_to in _dispatch.lua):
--   wid, sid, capacity, default_lease, strict, pattern, grants, types (read by dispatch_args in _dispatch.lua)
--
-- Returns:
--   n pairs, then ids of the workers whose slots were freed; with a refill {those, dispatch reply}
--     record: code (str), type (str)
local retention = num_arg(A, 'retention')
local n = num_arg(A + 1, 'n')
local ACKS_AT = A + 2
local function ack_at(i)
  local b = ACKS_AT + (i - 1) * 3
  return {
    id = ARGV[b],
    token = ARGV[b + 1],
    result = ARGV[b + 2],
  }
end
local DISPATCH = ACKS_AT + n * 3
check_argc_at_least(ACKS_AT + n * 3 - 1)
-- contract:end
--
-- A job with on_success follow-ups submits them in the same call (see follow_up() in
-- _final.lua); a repeated ack is stale, so they are made exactly once. A group member
-- is counted in its group, and the last one submits the group's follow-ups (see
-- _groups.lua).
--
-- With DISPATCH (a refill: the dispatch arguments of the acking worker's stream) the
-- call also dispatches to it, as its stream's own dispatch would, and that worker's
-- freed slots are not announced.
--
-- Codes: 'ok'; 'stale' = not active or another lease's token, nothing changed;
-- 'missing' = no such job. With a refill the reply is {that array, dispatch result as
-- dispatch_to() returns it}.
-- The refill's arguments are read (and checked) before anything is written.
local refill = ARGV[DISPATCH] and ARGV[DISPATCH] ~= '' and {dispatch_args(DISPATCH)}
local out = {}
local unheld = {}  -- workers whose hold this call lifts (once each)
for i = 1, n do
  local item = ack_at(i)
  local id, token, result = item.id, item.token, item.result
  local jk = P_JOB .. id
  local f = redis.call('HMGET', jk, 'state', 'token', 'wid', 'type', 'attempt', 'on_ok', 'grp',
    'watch', 'hn')
  if not f[1] then
    out[#out + 1] = 'missing'
    out[#out + 1] = ''
  elseif f[1] ~= 'active' or f[2] ~= token then
    out[#out + 1] = 'stale'
    out[#out + 1] = f[4] or ''
  else
    drop_lease(id, f[3], f[4])
    if f[3] and not unheld[f[3]] then
      unheld[f[3]] = true
      later('HDEL', K_HOLDS, f[3])
    end
    local fields = {'state', 'succeeded', 'result', result, 'finished', NOW_TEXT}
    record(id, f[4], 'active', 'succeeded', f[5], f[3], nil, f[8] ~= false, f[9], fields)
    redis.call('HSET', jk, unpack(fields))
    later('ZADD', K_FINISHED, NOW_TEXT, id)
    follow_up(id, f[4], f[6], 'succeeded', 'result', result)
    if f[7] then member_final(f[7], id, f[4], 'succeeded', 'result', result) end
    redis.call('PEXPIRE', jk, retention)
    -- A job from before the history moved into its hash keeps it in a list.
    if not f[9] then redis.call('PEXPIRE', P_HIST .. id, retention) end
    out[#out + 1] = 'ok'
    out[#out + 1] = f[4]
  end
end
if refill then
  local dispatched = dispatch_to(unpack(refill))
  -- The refill already gave this worker what its freed slots could take.
  freed_workers[refill[1]] = nil
  announce()
  return {with_freed(out), dispatched}
end
announce()
return with_freed(out)

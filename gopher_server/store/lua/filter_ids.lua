-- filter_ids: which of the given jobs pass a listing's exact filters. Reads only.
--
-- ARGV[A]    state word ('' = any)
-- ARGV[A+1]  job type ('' = any)
-- ARGV[A+2]  priority word ('' = any)
-- ARGV[A+3]  '1': return each passing job's last error too, for the caller's text filter
-- ARGV[A+4..] job ids, in listing order
--
-- One script call examines a whole chunk of a listing's ids in Redis, where a pipeline
-- of HMGETs would spend most of its time turning replies into Python objects. Jobs
-- gone since their id was read do not pass. Returns the passing ids in order, each
-- followed by its last error ('' if none) when asked.
local want_state, want_type, want_prio = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local with_error = ARGV[A + 3] == '1'
local out = {}
for i = A + 4, #ARGV do
  local id = ARGV[i]
  local row = redis.call('HMGET', P_JOB .. id, 'state', 'type', 'prio', 'last_error')
  if row[1] and (want_state == '' or row[1] == want_state)
      and (want_type == '' or row[2] == want_type)
      and (want_prio == '' or prio_of(row[3]) == want_prio) then
    out[#out + 1] = id
    if with_error then out[#out + 1] = row[4] or '' end
  end
end
return out

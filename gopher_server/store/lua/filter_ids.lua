-- filter_ids: which of the given jobs pass a listing's filters. Reads only.
--
-- ARGV[A]    state word ('' = any)
-- ARGV[A+1]  job type ('' = any)
-- ARGV[A+2]  priority word ('' = any)
-- ARGV[A+3]  lower-case ASCII text the last error must contain, ASCII letters compared
--            case-insensitively ('' = any)
-- ARGV[A+4]  '1': return each passing job's last error too (the caller then applies a
--            text filter that is not ASCII itself)
-- ARGV[A+5..] job ids, in listing order
--
-- One script call examines a whole chunk of a listing's ids in Redis, where a pipeline
-- of HMGETs would spend most of its time turning replies into Python objects. Jobs
-- gone since their id was read do not pass. Returns the passing ids in order, each
-- followed by its last error ('' if none) when asked.
local want_state, want_type, want_prio = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local needle, with_error = ARGV[A + 3], ARGV[A + 4] == '1'
local out = {}
for i = A + 5, #ARGV do
  local id = ARGV[i]
  local row = redis.call('HMGET', P_JOB .. id, 'state', 'type', 'prio', 'last_error')
  local last_error = row[4] or ''
  if row[1] and (want_state == '' or row[1] == want_state)
      and (want_type == '' or row[2] == want_type)
      and (want_prio == '' or prio_of(row[3]) == want_prio)
      and (needle == '' or string.find(string.lower(last_error), needle, 1, true)) then
    out[#out + 1] = id
    if with_error then out[#out + 1] = last_error end
  end
end
return out

-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- filter_ids: which of the given jobs pass a listing's filters; reads only.
--
-- ARGV[A]  want_state (str): state word ('' = any)
-- ARGV[A + 1]  want_type (str): job type ('' = any)
-- ARGV[A + 2]  want_prio (str): priority word ('' = any)
-- ARGV[A + 3]  needle (str): lower-case ASCII text the last error must contain, ASCII letters compared case-insensitively ('' = any)
-- ARGV[A + 4]  with_error (flag): return each passing job's last error (else '')
-- ARGV[A + 5]  n: number of job ids, in listing order, then n records of 1:
--   job_id (str): job id
--
-- Returns:
--   pairs, in the order given
--     record: job_id (str), last_error (str)
local want_state = ARGV[A]
local want_type = ARGV[A + 1]
local want_prio = ARGV[A + 2]
local needle = ARGV[A + 3]
local with_error = ARGV[A + 4] == '1'
local n = num_arg(A + 5, 'n')
local IDS_AT = A + 6
local function id_at(i) return ARGV[IDS_AT + i - 1] end
check_argc(IDS_AT + n - 1)
-- contract:end
--
-- One call examines a whole chunk of a listing's ids in Redis, where a pipeline of
-- HMGETs would spend most of its time turning replies into Python objects (see
-- store/listing.py). Jobs gone since their id was read do not pass. A caller whose
-- text filter is not ASCII passes needle '' and with_error, and matches the errors
-- itself with its own case folding.
local out = {}
for i = 1, n do
  local id = id_at(i)
  local row = redis.call('HMGET', P_JOB .. id, 'state', 'type', 'prio', 'last_error')
  local last_error = row[4] or ''
  if row[1] and (want_state == '' or row[1] == want_state)
      and (want_type == '' or row[2] == want_type)
      and (want_prio == '' or prio_of(row[3]) == want_prio)
      and (needle == '' or string.find(string.lower(last_error), needle, 1, true)) then
    out[#out + 1] = id
    out[#out + 1] = with_error and last_error or ''
  end
end
return out

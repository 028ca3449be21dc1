-- contract:begin (generated from gopher_server/store/contracts.py; do not edit)
-- watch: mark a job watched: from now on its transitions publish on its job channel.
--
-- ARGV[A]  id (str): job id
--
-- Returns:
--   1 when the job exists (and is now marked), else 0
local id = ARGV[A]
check_argc(A)
-- contract:end
--
-- Transitions publish the new state on the job's channel only for a job with this
-- mark (record() in _history.lua): most jobs are never watched, and a PUBLISH per
-- transition was a tenth of a job's Redis commands. The watcher subscribes first,
-- then marks, then reads the job: a transition before the mark is in what it reads,
-- one after it is published. The mark stays until the job is deleted (a second
-- watcher needs it too, and it costs a few bytes).
local jk = P_JOB .. id
if redis.call('EXISTS', jk) == 0 then return 0 end
redis.call('HSET', jk, 'watch', 1)
return 1

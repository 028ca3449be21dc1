-- The job hash's compact layout (store/schema.py JOB_FIELDS declares its fields and
-- defaults; store/job_hash.py reads it back): defaults left out, long payloads chunked.

-- Fields at their most common value are not stored: every field left out of a queued
-- job's hash is memory saved per job. Absent 'prio' reads as 'normal' and absent
-- 'retries' as 3 (the contract's default). These are storage constants, not broker
-- defaults: they must never change, or stored jobs would read differently. Every
-- reader goes through prio_of/retries_of; gopher_server/store/job_hash.py agrees.
local PRIO_UNSTORED, RETRIES_UNSTORED = 'normal', 3

local function prio_of(stored)
  if not stored or stored == '' then return PRIO_UNSTORED end
  return stored
end

local function retries_of(stored)
  return tonumber(stored) or RETRIES_UNSTORED
end

-- Payload chunking. Redis keeps a hash in its compact listpack encoding only while
-- every value is at most hash-max-listpack-value bytes (64 by default); one longer
-- value turns the whole hash into a real hashtable, about twice the memory of a job
-- with a 100-byte payload. So a payload over that size is stored as several values of
-- at most CHUNK_BYTES bytes: 'payload' holds the first chunk, 'p2', 'p3', ... the rest
-- (short names: each name is stored in every job hash), and 'pn' the number of chunks,
-- present only when there is more than one (a reader then knows what to fetch without
-- probing). The split never cuts a UTF-8 character: clients decode every value on its
-- own, so each chunk must be valid UTF-8; joining them gives the payload byte for byte.
-- At most MAX_CHUNKS chunks keep the hash within hash-max-listpack-entries with room
-- for its other fields, and listpack lookups (linear scans) short; a longer payload
-- stays one value, as its hash costs little more than the payload itself anyway.
local function chunk_field(i)
  if i == 1 then return 'payload' end
  return 'p' .. i
end

-- The chunks of `payload`, or nil when it is stored as one value.
local function split_payload(payload)
  local n = #payload
  if n <= CHUNK_BYTES or MAX_CHUNKS < 2 then return nil end
  local parts, i = {}, 1
  while i <= n do
    if #parts == MAX_CHUNKS then return nil end
    local j = i + CHUNK_BYTES  -- first byte of the next chunk
    if j <= n then
      -- 0x80-0xBF are UTF-8 continuation bytes: back off to the start of a character.
      local b = string.byte(payload, j)
      while b >= 128 and b < 192 and j > i + 1 do
        j = j - 1
        b = string.byte(payload, j)
      end
    end
    parts[#parts + 1] = string.sub(payload, i, j - 1)
    i = j
  end
  return parts
end

-- Append the payload's hash fields (name, value, ...) to `fields`.
local function payload_fields(fields, payload)
  local parts = split_payload(payload)
  if not parts then
    fields[#fields + 1] = 'payload'
    fields[#fields + 1] = payload
    return
  end
  for i, part in ipairs(parts) do
    fields[#fields + 1] = chunk_field(i)
    fields[#fields + 1] = part
  end
  fields[#fields + 1] = 'pn'
  fields[#fields + 1] = #parts
end

-- The whole payload of job hash `jk`, given its 'payload' and 'pn' values as read.
local function join_payload(jk, first, count)
  count = tonumber(count) or 1
  if count < 2 then return first end
  local names = {}
  for i = 2, count do names[#names + 1] = chunk_field(i) end
  local rest = redis.call('HMGET', jk, unpack(names))
  -- A chunk cannot be missing while its hash exists (all are written in one HSET);
  -- should one be anyway, the job gets a broken payload rather than failing the
  -- whole script, which could have popped other jobs already.
  for k = 1, #rest do rest[k] = rest[k] or '' end
  return (first or '') .. table.concat(rest)
end

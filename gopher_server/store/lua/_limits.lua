-- The cap on distinct job types (StoreSettings.max_job_types), checked before a
-- batch creates anything.

-- The TYPE_LIMIT error reply when creating jobs of `jtypes` (a list, repeats allowed)
-- would take the known types (K_TYPES) over `max_types` (0: no cap), else nil. Checked
-- for a whole batch before any write: an error raised halfway would keep the jobs
-- already created. One SISMEMBER per distinct type (a repeat of an idempotent submit
-- never brings a new type: its first submit already added it).
local function type_cap_error(jtypes, max_types)
  if max_types <= 0 then return nil end
  local seen, count = {}, 0
  for _, jtype in ipairs(jtypes) do
    if not seen[jtype] then
      seen[jtype] = true
      if redis.call('SISMEMBER', K_TYPES, jtype) == 0 then count = count + 1 end
    end
  end
  if count > 0 and redis.call('SCARD', K_TYPES) + count > max_types then
    return redis.error_reply('TYPE_LIMIT the broker knows ' .. redis.call('SCARD', K_TYPES)
      .. ' job types and allows at most ' .. max_types .. '; this would add ' .. count)
  end
  return nil
end

-- Shared by the scripts that add an event to a stream (say, publish, enter, leave): the one way an
-- entry is written. Its id follows the stream's last entry and `floor`, the last id the caller has
-- seen there: after a failover the stream may lack entries that were already delivered, and their
-- ids must never be issued again. The entry keeps the id before it (`p`), so a receiver that sees
-- `p` differ from what it delivered last knows it missed entries, or that the log was rewound.
-- The channel carries `<prev> <id> <line>`; `append` returns the id and the prev. A channel is not a key: the caller names the stream's
-- own channel, which has the stream's hash tag and so its slot.
-- `top` holds the stream's last id, written with every entry: reading it is a GET where reading the
-- stream's last entry would copy all its fields into Lua. Without it (a stream written before it
-- existed) the stream's last entry is read.
local function idParts(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

local function append(stream, top, channel, cap, floor, line, ms)
  local prev = redis.call('GET', top)
  if not prev then
    local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
    prev = '0-0'
    if #last > 0 then prev = last[1][1] end
  end
  -- Redis's own id follows the stream's last; only a floor past it (Redis lost writes this
  -- instance saw) needs an id of ours.
  local id = '*'
  if floor ~= prev and floor ~= '0-0' then
    local lastMs, lastSeq = idParts(prev)
    local floorMs, floorSeq = idParts(floor)
    if floorMs > lastMs or (floorMs == lastMs and floorSeq > lastSeq) then
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      if now > floorMs then
        id = string.format('%d-0', now)
      else
        id = string.format('%d-%d', floorMs, floorSeq + 1)
      end
    end
  end
  id = redis.call('XADD', stream, 'MAXLEN', '~', cap, id, 'p', prev, 'e', line, 'ms', ms)
  redis.call('SET', top, id)
  redis.call('SPUBLISH', channel, prev .. ' ' .. id .. ' ' .. line)
  return id, prev
end

-- Shared by the scripts that add an event to a stream (say, publish, enter, leave): the one way an
-- entry is written. Its id follows the stream's last entry and `floor`, the last id the caller has
-- seen there: after a failover the stream may lack entries that were already delivered, and their
-- ids must never be issued again. The entry keeps the id before it (`p`), so a receiver that sees
-- `p` differ from what it delivered last knows it missed entries, or that the log was rewound.
-- The channel carries `<prev> <id> <line>`; `append` returns the id and the prev. A channel is not a key: the caller names the stream's
-- own channel, which has the stream's hash tag and so its slot.
local function idParts(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

local function append(stream, channel, cap, floor, line, ms)
  local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  local prev = '0-0'
  if #top > 0 then prev = top[1][1] end
  local lastMs, lastSeq = idParts(prev)
  local floorMs, floorSeq = idParts(floor)
  if floorMs > lastMs or (floorMs == lastMs and floorSeq > lastSeq) then
    lastMs, lastSeq = floorMs, floorSeq
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local id
  if now > lastMs then
    id = string.format('%d-0', now)
  else
    id = string.format('%d-%d', lastMs, lastSeq + 1)
  end
  redis.call('XADD', stream, 'MAXLEN', '~', cap, id, 'p', prev, 'e', line, 'ms', ms)
  redis.call('SPUBLISH', channel, prev .. ' ' .. id .. ' ' .. line)
  return id, prev
end

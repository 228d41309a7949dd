namespace Chat.Server

open System
open Chat.Domain

// The key names of the Redis schema (see RedisBackend.fs and docs/REDIS-SCHEMA.md). The Lua scripts
// below build the same names from the same prefixes: they run on one Redis node (no Cluster), where
// a script may touch keys it computes from what it reads.
module internal RedisKeys =
    let bus = "chat:bus"
    let busEpoch = "chat:bus:epoch"
    let busSeq = "chat:bus:seq"
    let busLog = "chat:bus:log"
    let user (u: Username) = "chat:user:" + Username.value u
    let session (u: Username) = "chat:session:" + Username.value u
    let online = "chat:online"
    let room (r: RoomName) = "chat:room:" + RoomName.value r
    let rooms = "chat:rooms"
    let servers = "chat:servers"
    let serverSessions (id: string) = "chat:server:" + id + ":sessions"
    let alive (id: string) = "chat:server:" + id + ":alive"
    let follows (u: Username) = "chat:follows:" + Username.value u
    let followers (u: Username) = "chat:followers:" + Username.value u
    let history (r: RoomName) = "chat:history:" + RoomName.value r
    let failedUser (u: Username) = "chat:fail:u:" + Username.value u
    let failedAddress (address: string) = "chat:fail:a:" + address
    let registeredAddress (address: string) = "chat:register:a:" + address

/// Bus lines the scripts finish: the parts around what only the script knows (the id, the
/// recipients), laid out as `BusCodec.encode` writes them (the codec is the one definition of the
/// format; RedisBusTemplateTests checks both against it).
module internal RedisBusTemplate =
    // '~' is in no room or user name, so its first occurrence is the id field.
    let private placeholder = MsgId.tryCreate "~id~" |> Option.get

    let private around (line: string) =
        let i = line.IndexOf(MsgId.value placeholder, StringComparison.Ordinal)
        line.Substring(0, i), line.Substring(i + (MsgId.value placeholder).Length)

    /// prefix, suffix: the line is prefix + id + suffix. Joined here rather than cut from
    /// `BusCodec.encode`, since every room message takes this path: one string less, and the text
    /// copied once less. RedisBusTemplateTests holds it to the codec's layout.
    let said (room: RoomName) (from: Username) (text: string) =
        String.Concat("S\t", RoomName.value room, "\t"), String.Concat("\t", Username.value from, "\t", text)

    /// head, middle, tail: the line is head + id + middle + recipients joined by ',' + tail.
    let published from text =
        let head, rest =
            around (BusCodec.encode (BusEvent.Published(placeholder, from, text, [])))
        // With no recipients their field is empty, right after the publisher's name.
        let middle = "\t" + Username.value from + "\t"

        if not (rest.StartsWith(middle, StringComparison.Ordinal)) then
            failwith "BusCodec's Published layout changed: update RedisBusTemplate.published"

        head, middle, rest.Substring middle.Length

/// The Lua scripts, one EVAL each, so every multi-key change is atomic. Sessions are the hash
/// chat:session:USER {sid, server, room}; the helpers keep the online, room, rooms and per-server
/// sets in step with it.
module internal RedisScripts =
    /// How many bus events `chat:bus:log` keeps for instances that missed some (about a minute of
    /// heavy traffic); enough to bridge a lost subscription or a Redis restart. A gap up to this
    /// long is read back whole, `BusReadCount` entries at a time (RedisBus).
    [<Literal>]
    let BusLogLength = 100000

    /// How many `chat:bus:log` entries one read of a catch-up takes (one XRANGE ... COUNT).
    [<Literal>]
    let BusReadCount = 1000

    /// Every bus event goes out through `busPublish`: numbered (`chat:bus:seq`) within an epoch
    /// (`chat:bus:epoch`, new whenever Redis lost its data), kept in `chat:bus:log` under that
    /// number, then published as `<epoch> <seq> <line>`. Subscribers see gaps in the numbers and
    /// read what they missed back from the log (RedisBus.fs).
    let private bus =
        """
local function busPublish(line)
  local epoch = redis.call('GET', 'chat:bus:epoch')
  if not epoch then
    local t = redis.call('TIME')
    epoch = t[1] .. t[2]
    redis.call('SET', 'chat:bus:epoch', epoch)
    redis.call('DEL', 'chat:bus:log', 'chat:bus:seq')
  end
  local seq = redis.call('INCR', 'chat:bus:seq')
  redis.call('XADD', 'chat:bus:log', 'MAXLEN', '~', """
        + string BusLogLength
        + """, seq .. '-1', 'e', line)
  redis.call('PUBLISH', 'chat:bus', epoch .. ' ' .. seq .. ' ' .. line)
end
"""

    /// ARGV line: one bus event.
    let announce = bus + "busPublish(ARGV[1])"

    let private helpers =
        bus
        + """
local function leaveRoom(user, room)
  local key = 'chat:room:' .. room
  redis.call('SREM', key, user)
  if redis.call('SCARD', key) == 0 then redis.call('SREM', 'chat:rooms', room) end
end
local function enterRoom(user, room)
  redis.call('SADD', 'chat:room:' .. room, user)
  redis.call('SADD', 'chat:rooms', room)
end
local function session(user)
  return redis.call('HMGET', 'chat:session:' .. user, 'sid', 'server', 'room')
end
local function endSession(user, s)
  redis.call('DEL', 'chat:session:' .. user)
  redis.call('SREM', 'chat:online', user)
  if s[3] then leaveRoom(user, s[3]) end
  if s[2] then redis.call('SREM', 'chat:server:' .. s[2] .. ':sessions', user) end
end
local function startSession(user, sid, server, room)
  redis.call('HSET', 'chat:session:' .. user, 'sid', sid, 'server', server, 'room', room)
  redis.call('SADD', 'chat:online', user)
  redis.call('SADD', 'chat:server:' .. server .. ':sessions', user)
  enterRoom(user, room)
end
"""

    /// ARGV user, sid, server, policy -> {'online'} | {'claimed', old sid or '', old room or ''}
    let claim =
        helpers
        + """
local user, sid, server = ARGV[1], ARGV[2], ARGV[3]
local existed = redis.call('EXISTS', 'chat:session:' .. user) == 1
if existed and ARGV[4] == 'reject' then return {'online'} end
local old = session(user)
if existed then endSession(user, old) end
startSession(user, sid, server, 'lobby')
return {'claimed', old[1] or '', old[3] or ''}
"""

    /// ARGV user, sid -> the room, or nil when sid no longer owns the name (the fence).
    let release =
        helpers
        + """
local s = session(ARGV[1])
if s[1] ~= ARGV[2] then return false end
endSession(ARGV[1], s)
return s[3]
"""

    /// ARGV user, sid, into -> 1, or 0 when sid no longer owns the name.
    let move =
        helpers
        + """
local user, sid, into = ARGV[1], ARGV[2], ARGV[3]
local s = session(user)
if s[1] ~= sid then return 0 end
if s[3] then leaveRoom(user, s[3]) end
enterRoom(user, into)
redis.call('HSET', 'chat:session:' .. user, 'room', into)
return 1
"""

    /// ARGV user, sid, server, room: rewrites a local session after Redis lost it; 0 when the hash
    /// names another sid (a newer login won meanwhile).
    let restore =
        helpers
        + """
local user, sid = ARGV[1], ARGV[2]
local s = session(user)
if s[1] and s[1] ~= sid then return 0 end
if s[1] then endSession(user, s) end
startSession(user, sid, ARGV[3], ARGV[4])
return 1
"""

    /// ARGV dead server -> flat {user, sid, room, ...} of the sessions removed; nothing if it is alive.
    let sweep =
        helpers
        + """
local dead = ARGV[1]
if redis.call('EXISTS', 'chat:server:' .. dead .. ':alive') == 1 then return {} end
local key = 'chat:server:' .. dead .. ':sessions'
local out = {}
for _, user in ipairs(redis.call('SMEMBERS', key)) do
  local s = session(user)
  if s[2] == dead then
    endSession(user, s)
    table.insert(out, user); table.insert(out, s[1] or ''); table.insert(out, s[3] or '')
  end
end
redis.call('DEL', key)
return out
"""

    /// ARGV server: drops it from chat:servers once it is dead and holds no sessions.
    let forget =
        """
local id = ARGV[1]
if redis.call('EXISTS', 'chat:server:' .. id .. ':alive') == 0
   and redis.call('SCARD', 'chat:server:' .. id .. ':sessions') == 0 then
  redis.call('SREM', 'chat:servers', id)
end
return 0
"""

    /// ARGV server, ttl seconds: (re)registers a live server.
    let heartbeat =
        """
redis.call('SET', 'chat:server:' .. ARGV[1] .. ':alive', '1', 'EX', ARGV[2])
redis.call('SADD', 'chat:servers', ARGV[1])
return 0
"""

    /// ARGV server: a clean stop. With sessions left it stays listed, so others sweep them.
    let leave =
        """
redis.call('DEL', 'chat:server:' .. ARGV[1] .. ':alive')
if redis.call('SCARD', 'chat:server:' .. ARGV[1] .. ':sessions') == 0 then
  redis.call('SREM', 'chat:servers', ARGV[1])
end
return 0
"""

    /// -> flat {room, members, ...} of the non-empty rooms, one consistent snapshot.
    let rooms =
        """
local out = {}
for _, r in ipairs(redis.call('SMEMBERS', 'chat:rooms')) do
  local n = redis.call('SCARD', 'chat:room:' .. r)
  if n > 0 then table.insert(out, r); table.insert(out, n) end
end
return out
"""

    /// KEYS history; ARGV limit, from, ms, text, prefix, suffix -> the stream id, also the MsgId.
    /// Appending and publishing in one script makes history order the delivery order.
    let say =
        bus
        + """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
  'from', ARGV[2], 'ms', ARGV[3], 'text', ARGV[4])
busPublish(ARGV[5] .. id .. ARGV[6])
return id
"""

    /// ARGV from, head, middle, tail -> {id, recipients}: the online followers at this instant.
    let publish =
        bus
        + """
local from = ARGV[1]
local id = tostring(redis.call('INCR', 'chat:pubseq:' .. from))
local rs = redis.call('SINTER', 'chat:followers:' .. from, 'chat:online')
busPublish(ARGV[2] .. id .. ARGV[3] .. table.concat(rs, ',') .. ARGV[4])
return {id, #rs}
"""

    /// KEYS counters; ARGV window seconds: counts a failed login (or an account created, with its
    /// own window); a counter's window starts when it is created.
    let failed =
        """
for _, k in ipairs(KEYS) do
  redis.call('INCR', k)
  if redis.call('TTL', k) < 0 then redis.call('EXPIRE', k, ARGV[1]) end
end
return 0
"""

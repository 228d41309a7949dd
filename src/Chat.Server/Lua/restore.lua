-- KEYS user's session, user's claim counter; ARGV sid, server, room -> the session's generation
-- (rewritten with a new one if Redis lost it), or 0 when another session holds the name now:
-- this one was taken over.
local s = redis.call('HMGET', KEYS[1], 'sid', 'gen')
if s[1] and s[1] ~= ARGV[1] then return 0 end
if s[1] then return tonumber(s[2] or '0') end
local gen = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'server', ARGV[2], 'room', ARGV[3], 'gen', gen)
return gen

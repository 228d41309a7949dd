-- KEYS user's session; ARGV sid -> {room, leaving} while sid owns the name, else false.
local s = redis.call('HMGET', KEYS[1], 'sid', 'room', 'leaving')
if s[1] ~= ARGV[1] then return false end
return {s[2] or '', s[3] or ''}

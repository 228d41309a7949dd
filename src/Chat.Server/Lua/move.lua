-- KEYS user's session; ARGV sid, into -> {room left, generation}, or false when sid no longer
-- owns the name. `leaving` keeps the room left until the move is done, so a sweep after a crash
-- leaves it too.
local s = redis.call('HMGET', KEYS[1], 'sid', 'room', 'gen')
if s[1] ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], 'room', ARGV[2], 'leaving', s[2] or '')
return {s[2] or '', s[3] or '0'}

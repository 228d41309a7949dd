-- KEYS a counter; ARGV window seconds: counts one more; the window starts when the counter does.
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n

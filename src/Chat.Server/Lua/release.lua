-- KEYS user's session; ARGV sid -> 1 when it ended the session, 0 when sid no longer owns the name.
if redis.call('HGET', KEYS[1], 'sid') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1

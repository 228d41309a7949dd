-- KEYS a hash (user -> sid or entry); ARGV user, sid -> 1 when it removed the user's entry,
-- which was this session's (an entry of a newer session is left alone).
if holds(redis.call('HGET', KEYS[1], ARGV[1]), ARGV[2]) then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0

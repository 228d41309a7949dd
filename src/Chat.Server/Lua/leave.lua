-- KEYS room members (user -> entry), room log, its top; ARGV user, sid, channel, cap, floor, line, ms
-- -> the entry id, or false when the room does not hold this session (a late or repeated leave
-- never removes a newer session, and a leave is announced once).
if not holds(redis.call('HGET', KEYS[1], ARGV[1]), ARGV[2]) then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
return append(KEYS[2], KEYS[3], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])

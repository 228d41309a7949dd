-- KEYS user's session; ARGV sid: the move is done, the room left is left.
if redis.call('HGET', KEYS[1], 'sid') == ARGV[1] then redis.call('HDEL', KEYS[1], 'leaving') end
return 0

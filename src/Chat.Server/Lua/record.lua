-- KEYS an index hash (user -> entry); ARGV user, entry -> 1 when written: only over an entry of
-- an earlier claim.
if generation(redis.call('HGET', KEYS[1], ARGV[1])) >= generation(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1

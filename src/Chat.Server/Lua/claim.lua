-- KEYS user's session {sid, server, room, leaving, gen}, user's claim counter; ARGV sid, server,
-- policy, room -> {'online'} | {'claimed', generation, old sid, old server, old room, old leaving}
-- ('' where none). The duplicate-login decision, atomic in the user's slot: two logins racing end
-- with one session, and the later claim has the higher generation.
local old = redis.call('HMGET', KEYS[1], 'sid', 'server', 'room', 'leaving')
if old[1] and ARGV[3] == 'reject' then return {'online'} end
local gen = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'server', ARGV[2], 'room', ARGV[4], 'gen', gen)
return {'claimed', tostring(gen), old[1] or '', old[2] or '', old[3] or '', old[4] or ''}

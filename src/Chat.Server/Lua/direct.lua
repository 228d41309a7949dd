-- KEYS recipient's inbox, recipient's session, the inbox's top; ARGV channel, cap, floor, line, ms
-- -> {entry id, the id before it, the server holding the recipient's session or ''}: the sender's
-- instance forwards the entry to that server's control channel.
local id, prev = append(KEYS[1], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {id, prev, redis.call('HGET', KEYS[2], 'server') or ''}

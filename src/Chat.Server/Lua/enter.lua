-- KEYS room members (user -> entry), room log, its top; ARGV user, entry, channel, cap, floor, line, ms
-- -> {members, entry id or ''}. Announced only when it changed the members: a session recorded
-- there already, or a newer session of the user, is left as it is.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and generation(current) >= generation(ARGV[2]) then
  return {redis.call('HLEN', KEYS[1]), ''}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local id = append(KEYS[2], KEYS[3], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return {redis.call('HLEN', KEYS[1]), id}

-- KEYS publisher's followers, publisher's log, its top; ARGV channel, cap, floor, head, separator, text, ms
-- -> {entry id, follower, ...}: the followers when it was sent are its recipients, in the line.
local followers = redis.call('SMEMBERS', KEYS[1])
table.sort(followers)
local line = ARGV[4] .. table.concat(followers, ',') .. ARGV[5] .. ARGV[6]
local id = append(KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], line, ARGV[7])
local reply = {id}
for i, f in ipairs(followers) do reply[i + 1] = f end
return reply

-- KEYS a stream (a room's log, a user's inbox), its top; ARGV channel, cap, floor, line, ms -> the entry
-- id, which is the message id.
return append(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])

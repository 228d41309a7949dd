-- KEYS room log; ARGV channel, cap, floor, line, ms -> the entry id (the message id).
return append(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])

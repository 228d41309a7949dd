-- KEYS server's alive key, server's sessions -> 1 when the server is dead and holds no sessions.
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('HLEN', KEYS[2]) == 0 then return 1 end
return 0

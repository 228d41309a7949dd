-- Shared by the scripts that keep entries of a session outside its user's slot (room members, the
-- online index). An entry is `<generation>:<sid>`; the generation counts the user's claims, so of
-- two sessions of one user the later claim wins, whatever order their writes arrive in; removing
-- an entry matches its sid, so a late removal never takes a newer session's entry.
local function generation(entry)
  if not entry then return -1 end
  return tonumber(string.match(entry, '^(%d+):')) or -1
end

local function holds(entry, sid)
  return entry and (entry == sid or string.sub(entry, -(#sid + 1)) == ':' .. sid)
end

namespace Chat.Server

open Chat.Domain

/// Every key and channel name of the Redis schema (docs/REDIS-SCHEMA.md), defined here only: the
/// Lua scripts get their keys in KEYS and their channels in ARGV, and name none themselves. Each
/// name carries the hash tag of the entity that owns it, `{u:<user>}`, `{r:<room>}`, `{s:<server>}`,
/// `{a:<address>}`, so that all of an entity's keys and its channel live in one Cluster slot, and a
/// script that touches them touches one slot. `{index}` holds the three small sets that span
/// entities (servers, online users, rooms with members); they change at logins, never per message.
module internal RedisKeys =
    let private tagged (kind: string) (owner: string) (what: string) =
        System.String.Concat("chat:{", kind, ":", owner, "}:", what)

    let private user (u: Username) = tagged "u" (Username.value u)
    let private room (r: RoomName) = tagged "r" (RoomName.value r)
    let private server (id: string) = tagged "s" id
    let private address (a: string) = tagged "a" a

    /// hash {hash}: the bcrypt hash.
    let account u = user u "account"
    /// hash {sid, server, room, gen, leaving}: the one session of the user.
    let session u = user u "session"
    /// string: the user's claim counter, the generation of each session (never expires).
    let claims u = user u "claims"
    /// set: whom the user follows.
    let follows u = user u "follows"
    /// set: who follows the user (the publisher's recipients).
    let followers u = user u "followers"
    /// stream: the user's publications.
    let publications u = user u "pubs"
    /// string: the id of the last entry of the user's publications.
    let publicationsTop u = user u "pubs:top"
    /// sharded channel of the user's publications.
    let publicationChannel u = user u "pub"
    let failedUser u = user u "failed"
    /// string "1" with the token's TTL: a resume token of the user, by its SHA-256 (hex).
    let token u (hash: string) = user u ("token:" + hash)
    /// stream: the user's direct messages (its inbox).
    let inbox u = user u "dms"
    /// string: the id of the last entry of the user's inbox.
    let inboxTop u = user u "dms:top"
    /// sharded channel of the user's inbox.
    let inboxChannel u = user u "dm"
    /// string: the id of the last direct message the user was given.
    let inboxSeen u = user u "dmseen"

    let failedAddress a = address a "failed"
    let registeredAddress a = address a "registered"

    /// hash user -> `<gen>:<sid>`: the room's members.
    let members r = room r "members"
    /// stream: the room's events (messages, entries, leaves); its history.
    let roomLog r = room r "log"
    /// string: the id of the last entry of the room's stream.
    let roomTop r = room r "log:top"
    /// sharded channel of the room's events.
    let roomChannel r = room r "events"

    /// string "1" with a TTL: the server is alive.
    let alive id = server id "alive"
    /// hash user -> sid: the sessions the server holds.
    let serverSessions id = server id "sessions"
    /// sharded channel of the server's control events (force-logout).
    let control id = server id "control"

    /// set: registered servers.
    let servers = "chat:{index}:servers"
    /// hash user -> `<gen>:<sid>`: users online on any server.
    let online = "chat:{index}:online"
    /// set: rooms that had members (pruned when empty).
    let rooms = "chat:{index}:rooms"

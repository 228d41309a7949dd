namespace Chat.Server

open System.Threading.Tasks
open StackExchange.Redis
open Chat.Domain
open RedisCalls

/// The single-slot steps that a change spanning entities is made of (docs/REDIS-SCHEMA.md, "Steps
/// and why they hold"). Each is one script or command on one entity's keys, fenced by the
/// session id, so it is safe to repeat and never undoes a newer session's state; the order they
/// run in is what keeps shared state right when an instance stops between two of them.
type internal RedisSteps(muxer: ConnectionMultiplexer, feeds: RedisFeeds, historyLimit: int, clock: unit -> int64) =
    let db = muxer.GetDatabase()

    // A room's stream holds its presence events too: twice the history, so that churn does not push
    // messages out before `--history` of them are kept.
    let roomCap = 2 * historyLimit + 100

    let roomStream (room: RoomName) : StreamTarget = {
        Key = RedisKeys.roomLog room
        Top = RedisKeys.roomTop room
        Channel = RedisKeys.roomChannel room
        Cap = roomCap
        Floor = feeds.Floor(RoomFeed room)
    }

    member _.PublicationStream(user: Username) : StreamTarget = {
        Key = RedisKeys.publications user
        Top = RedisKeys.publicationsTop user
        Channel = RedisKeys.publicationChannel user
        Cap = max 1000 historyLimit
        Floor = feeds.Floor(PublisherFeed user)
    }

    member _.RoomStream room = roomStream room

    /// A user's inbox: direct messages, the last `--history` of them kept.
    member _.InboxStream(user: Username) : StreamTarget = {
        Key = RedisKeys.inbox user
        Top = RedisKeys.inboxTop user
        Channel = RedisKeys.inboxChannel user
        Cap = max 1 historyLimit
        Floor = feeds.Floor(DirectFeed user)
    }

    /// The session enters the room (the caller watches the room first); a room that gained its
    /// first member is listed in the rooms index after it has it, so a prune never hides it.
    member _.Enter(user: Username, sid: SessionId, generation: int64, room: RoomName) : Task =
        task {
            let line = EventLine.encodeRoom (EventLine.RoomEvent.Entered(user, sid))
            let entry = RedisScripts.entry generation sid

            let! members, _ =
                RedisScripts.enterRoom db (RedisKeys.members room) (roomStream room) user entry line (clock ())

            if members = 1 then
                let! _ =
                    db.SetAddAsync(key RedisKeys.rooms, value (RoomName.value room), CommandFlags.None)

                ()
        }

    /// The session leaves the room, if the room holds it (fenced by sid): announced once.
    member _.Leave(user: Username, sid: SessionId, room: RoomName) : Task =
        let line = EventLine.encodeRoom (EventLine.RoomEvent.Left(user, sid))

        RedisScripts.leaveRoom db (RedisKeys.members room) (roomStream room) user sid line (clock ()) :> Task

    /// Ends a session wherever it is: its rooms (by the session hash, and `known` by the holder's
    /// own account) first, then the name, then the indexes; each fenced by sid. Stopped between
    /// two steps, what is left is found again: the session hash still names the rooms, and the
    /// server's sessions entry (removed last) leads a sweep back to it.
    member this.End(user: Username, sid: SessionId, server: string, known: RoomName list) : Task<RoomName option> =
        task {
            let! owned = RedisScripts.sessionRooms db user sid
            let rooms = (Option.defaultValue [] owned @ known) |> List.distinct

            for room in rooms do
                do! this.Leave(user, sid, room)

            let! released = RedisScripts.releaseName db user sid
            let! _ = RedisScripts.unsetIf db RedisKeys.online user sid
            let! _ = RedisScripts.unsetIf db (RedisKeys.serverSessions server) user sid

            return
                match owned with
                | Some(room :: _) when released -> Some room
                | _ -> None
        }

    /// Lists the session as online, unless a later claim of the user is listed.
    member _.Online(user: Username, sid: SessionId, generation: int64) : Task =
        RedisScripts.recordIn db RedisKeys.online user (RedisScripts.entry generation sid)

    /// Tells the server holding `sid` to close it (its control channel; fire and forget: a server
    /// that misses it finds out when it re-checks its sessions after its link comes back).
    member _.Kick(user: Username, sid: SessionId, server: string) : Task =
        db.PublishAsync(
            RedisChannel.Sharded(RedisKeys.control server),
            value (EventLine.encodeKick user sid),
            CommandFlags.None
        )
        :> Task

namespace Chat.Server

open System.Collections.Generic
open System.Threading.Tasks
open Chat.Domain

/// The state port in this process's memory: one instance, no Redis. One lock guards all of it,
/// and events are handed to the listener under that lock, so every stream has one order, as with
/// Redis (here all streams share one).
type MemoryBackend(historyLimit: int, clock: unit -> int64) =
    let gate = obj ()
    let accounts = Dictionary<Username, string>()
    let sessions = Dictionary<Username, SessionId * RoomName>()
    let rooms = Dictionary<RoomName, SortedSet<string>>()
    let follows = Dictionary<Username, HashSet<Username>>()
    // The reverse index, so that a publication looks at its publisher's followers only.
    let followers = Dictionary<Username, HashSet<Username>>()
    let histories = Dictionary<RoomName, Queue<HistoryEntry>>()
    // The last id of each stream (a room's, a publisher's, an inbox): ids are `<ms>-<seq>` as in
    // Redis, so that both adapters order and page history alike.
    let lastIds = Dictionary<string, StreamPos>()
    let inboxes = Dictionary<Username, Queue<MsgId * Username * string>>()
    // The last direct message each user was given, and the users whose inbox is open (by session).
    let inboxSeen = Dictionary<Username, StreamPos>()
    let openInboxes = Dictionary<Username, SessionId>()
    let tokens = Dictionary<Username * string, int64>()
    let failures = Dictionary<string, int64 * int>()
    // Which session is in which room (fenced by sid, as the members hashes in Redis), and which
    // users' sessions have entered the lobby since their claim.
    let inRoom = HashSet<Username * SessionId * RoomName>()
    let entered = HashSet<Username>()
    let mutable listener: BusEvent -> unit = ignore

    // Counters whose window starts with their first count, as Redis' INCR + EXPIRE.
    let loginWindowMs = 60_000L
    let registerWindowMs = 3_600_000L

    let countOf windowMs key now =
        match failures.TryGetValue key with
        | true, (start, n) when now - start < windowMs -> n
        | _ -> 0

    let bump windowMs key now =
        match failures.TryGetValue key with
        | true, (start, n) when now - start < windowMs -> failures[key] <- (start, n + 1)
        | _ -> failures[key] <- (now, 1)

    let failuresOf = countOf loginWindowMs

    let addMember room (user: Username) =
        match rooms.TryGetValue room with
        | true, set -> set.Add(Username.value user) |> ignore
        | _ -> rooms[room] <- SortedSet([ Username.value user ], System.StringComparer.Ordinal)

    let removeMember room (user: Username) =
        match rooms.TryGetValue room with
        | true, set ->
            set.Remove(Username.value user) |> ignore

            if set.Count = 0 then
                rooms.Remove room |> ignore
        | _ -> ()

    /// The next id of `stream`: after its last, from the clock's milliseconds when they moved on.
    let nextId (stream: string) =
        let now = clock ()

        let id =
            match lastIds.TryGetValue stream with
            | true, last when last.Millis >= now -> StreamPos.next last
            | _ -> { Millis = now; Sequence = 0L }

        lastIds[stream] <- id
        id, (MsgId.tryCreate (StreamPos.render id)).Value

    let posOf (id: MsgId) =
        StreamPos.tryParse (MsgId.value id) |> Option.defaultValue StreamPos.zero

    /// Hands the user's inbox after what it was given to its open session, oldest first.
    let deliverInbox (user: Username) =
        match inboxes.TryGetValue user with
        | true, q when openInboxes.ContainsKey user ->
            let seen = inboxSeen.GetValueOrDefault(user, StreamPos.zero)

            for id, from, text in q do
                if posOf id > seen then
                    listener (BusEvent.Direct(id, from, user, text))
                    inboxSeen[user] <- posOf id
        | _ -> ()

    let owns user sid =
        match sessions.TryGetValue user with
        | true, (owner, room) when owner = sid -> Some room
        | _ -> None

    let locked f = lock gate f

    let link (index: Dictionary<Username, HashSet<Username>>) key value =
        match index.TryGetValue key with
        | true, set -> set.Add value |> ignore
        | _ -> index[key] <- HashSet [ value ]

    let unlink (index: Dictionary<Username, HashSet<Username>>) key value =
        match index.TryGetValue key with
        | true, set -> set.Remove value |> ignore
        | _ -> ()

    interface IChatBackend with
        member _.PasswordHash user =
            locked (fun () ->
                match accounts.TryGetValue user with
                | true, h -> Some h
                | _ -> None)

        member _.CreateAccount(user, hash) =
            locked (fun () -> accounts.TryAdd(user, hash))

        member _.UserExists user =
            locked (fun () -> accounts.ContainsKey user)

        member _.FailedLogins(user, address) =
            let now = clock ()
            locked (fun () -> failuresOf ("u:" + Username.value user) now, failuresOf ("a:" + address) now)

        member _.RecordFailedLogin(user, address) =
            let now = clock ()

            locked (fun () ->
                bump loginWindowMs ("u:" + Username.value user) now
                bump loginWindowMs ("a:" + address) now)

        member _.Registrations address =
            let now = clock ()
            locked (fun () -> countOf registerWindowMs ("r:" + address) now)

        member _.RecordRegistration address =
            let now = clock ()
            locked (fun () -> bump registerWindowMs ("r:" + address) now)

        member _.Claim(user, sid, policy) =
            locked (fun () ->
                match sessions.TryGetValue user, policy with
                | (true, _), Reject -> AlreadyOnline
                | existing, _ ->
                    let evicted =
                        match existing with
                        | true, (oldSid, oldRoom) ->
                            Some {
                                Sid = oldSid
                                Server = "memory"
                                Rooms = [ oldRoom ]
                            }
                        | _ -> None

                    // In no room until it enters the lobby.
                    sessions[user] <- (sid, RoomName.lobby)
                    entered.Remove user |> ignore
                    Claimed evicted)

        member _.Evict(user, evicted) =
            locked (fun () ->
                listener (BusEvent.Kicked(user, evicted.Sid))

                for room in evicted.Rooms do
                    if inRoom.Remove((user, evicted.Sid, room)) then
                        removeMember room user
                        listener (BusEvent.Left(user, evicted.Sid, room)))

        member _.Enter(user, sid) =
            locked (fun () ->
                if owns user sid = Some RoomName.lobby && entered.Add user then
                    inRoom.Add((user, sid, RoomName.lobby)) |> ignore
                    addMember RoomName.lobby user
                    listener (BusEvent.Entered(user, sid, RoomName.lobby)))

        member _.Release(user, sid, room) =
            locked (fun () ->
                let owned = owns user sid

                if owned.IsSome then
                    sessions.Remove user |> ignore
                    entered.Remove user |> ignore

                match openInboxes.TryGetValue user with
                | true, holder when holder = sid -> openInboxes.Remove user |> ignore
                | _ -> ()

                let room = defaultArg owned room

                if inRoom.Remove((user, sid, room)) then
                    removeMember room user
                    listener (BusEvent.Left(user, sid, room))

                owned)

        member _.Move(user, sid, _from, into) =
            locked (fun () ->
                match owns user sid with
                | Some current ->
                    if inRoom.Remove((user, sid, current)) then
                        removeMember current user
                        listener (BusEvent.Left(user, sid, current))

                    inRoom.Add((user, sid, into)) |> ignore
                    addMember into user
                    sessions[user] <- (sid, into)
                    listener (BusEvent.Entered(user, sid, into))
                    true
                | None -> false)

        member _.Rooms() =
            locked (fun () -> [ for KeyValue(room, set) in rooms -> room, set.Count ])

        member _.Members room =
            locked (fun () ->
                match rooms.TryGetValue room with
                | true, set -> set |> Seq.choose Username.tryCreate |> List.ofSeq
                | _ -> [])

        member _.Online() =
            locked (fun () -> List.ofSeq sessions.Keys)

        member _.Subscribe(follower, target) =
            locked (fun () ->
                link follows follower target
                link followers target follower)

        member _.Unsubscribe(follower, target) =
            locked (fun () ->
                unlink follows follower target
                unlink followers target follower)

        member _.Subscriptions follower =
            locked (fun () ->
                match follows.TryGetValue follower with
                | true, set -> List.ofSeq set
                | _ -> [])

        // Nothing to gather: each message is in place at once.
        member this.Pipeline() =
            let backend = this :> IChatBackend

            {
                new IMessagePipeline with
                    member _.Say(room, from, text, unixMs) = backend.Say(room, from, text, unixMs)
                    member _.Flush() = ()
            }

        member _.Say(room, from, text, unixMs) =
            locked (fun () ->
                let _, id = nextId ("r:" + RoomName.value room)

                let history =
                    match histories.TryGetValue room with
                    | true, q -> q
                    | _ ->
                        let q = Queue()
                        histories[room] <- q
                        q

                history.Enqueue {
                    Id = id
                    From = from
                    UnixMs = unixMs
                    Text = text
                }

                while history.Count > historyLimit do
                    history.Dequeue() |> ignore

                listener (BusEvent.Said(room, id, from, text))
                Task.FromResult id)

        member _.Publish(from, text) =
            locked (fun () ->
                let _, id = nextId ("p:" + Username.value from)

                // The followers are the recipients, as with Redis; those online are counted.
                let recipients =
                    match followers.TryGetValue from with
                    | true, set -> set |> Seq.sortBy Username.value |> List.ofSeq
                    | _ -> []

                listener (BusEvent.Published(id, from, text, recipients))
                id, recipients |> List.filter sessions.ContainsKey |> List.length)

        member _.History(room, count) =
            locked (fun () ->
                match histories.TryGetValue room with
                | true, q -> q |> Seq.skip (max 0 (q.Count - count)) |> List.ofSeq
                | _ -> [])

        member _.HistoryAfter(room, after, count) =
            locked (fun () ->
                match histories.TryGetValue room with
                | true, q ->
                    q
                    |> Seq.filter (fun e -> posOf e.Id > posOf after)
                    |> Seq.truncate (min count historyLimit)
                    |> List.ofSeq
                | _ -> [])

        member _.HistoryBefore(room, before, count) =
            locked (fun () ->
                match histories.TryGetValue room with
                | true, q ->
                    let earlier = q |> Seq.filter (fun e -> posOf e.Id < posOf before) |> List.ofSeq
                    earlier |> List.skip (max 0 (earlier.Length - min count historyLimit))
                | _ -> [])

        member _.StoreToken(user, hash, ttl) =
            let until = clock () + int64 ttl.TotalMilliseconds
            locked (fun () -> tokens[(user, hash)] <- until)

        member _.TokenValid(user, hash) =
            let now = clock ()

            locked (fun () ->
                match tokens.TryGetValue((user, hash)) with
                | true, until when until > now -> true
                | true, _ ->
                    tokens.Remove((user, hash)) |> ignore
                    false
                | _ -> false)

        member _.RevokeToken(user, hash) =
            locked (fun () -> tokens.Remove((user, hash)) |> ignore)

        member _.SendDirect(from, recipient, text, _unixMs) =
            locked (fun () ->
                let _, id = nextId ("d:" + Username.value recipient)

                let q =
                    match inboxes.TryGetValue recipient with
                    | true, q -> q
                    | _ ->
                        let q = Queue()
                        inboxes[recipient] <- q
                        q

                q.Enqueue((id, from, text))

                while q.Count > max 1 historyLimit do
                    q.Dequeue() |> ignore

                deliverInbox recipient
                id)

        member _.OpenInbox(user, sid) =
            locked (fun () ->
                openInboxes[user] <- sid
                deliverInbox user)

        member _.Listen handler = locked (fun () -> listener <- handler)

    interface System.IDisposable with
        member _.Dispose() = ()

namespace Chat.Server

// The state port on Redis: a standalone Redis, a Redis Cluster or a Sentinel-managed master, shared
// by any number of instances. The key schema is RedisKeys.fs and docs/REDIS-SCHEMA.md; the scripts
// are Lua/*.lua with their wrappers in RedisScripts.fs; changes that span entities are single-slot
// steps (RedisSteps.fs) in an order that holds up under concurrency and crashes; the streams this
// instance reads come through RedisFeeds.fs; liveness and sweeps are RedisLiveness.fs.

open System
open System.Collections.Generic
open System.Diagnostics
open System.Threading
open System.Runtime.ExceptionServices
open System.Threading.Tasks
open StackExchange.Redis
open Chat.Domain
open RedisCalls

/// The state port on Redis. `localSessions` (this instance's sessions; thread-safe and quick) is
/// re-written after Redis lost them; `warn` logs what is dropped, or fails in the background.
/// Calls block their thread until Redis answers (at most the sync timeout): make them from the
/// server's own threads, never from pool threads, which also read Redis' sockets. `metrics`
/// (a throwaway set when not given) gets the blocking calls' round trips, the streams' counts and
/// the time Redis was away.
type RedisBackend
    (
        muxer: ConnectionMultiplexer,
        serverId: string,
        historyLimit: int,
        localSessions: unit -> (Username * SessionId * RoomName) list,
        warn: string -> unit,
        ?metrics: ServerMetrics,
        ?clock: unit -> int64
    ) =
    let metrics = defaultArg metrics (ServerMetrics())

    let clock =
        defaultArg clock (fun () -> DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())

    let db = muxer.GetDatabase()
    let mutable listener: BusEvent -> unit = ignore
    let feeds = new RedisFeeds(muxer, serverId, (fun () -> listener), warn, metrics)
    let steps = RedisSteps(muxer, feeds, historyLimit, clock)
    let mutable started = false
    let mutable disposed = false

    // The sessions whose inbox is open here, and whose.
    let inboxes =
        System.Collections.Concurrent.ConcurrentDictionary<SessionId, Username>()

    // The generation of each local session (its user's claim count), which its entries carry.
    let generations =
        System.Collections.Concurrent.ConcurrentDictionary<SessionId, int64>()

    // The users this instance's sessions follow, per publisher: a publisher's feed is watched
    // while one of them is logged in here.
    let following = Dictionary<Username, HashSet<Username>>()

    /// A blocking call that goes to Redis, timed; none is made (nor timed) while disconnected.
    let timed (f: unit -> 'a) : 'a =
        if not muxer.IsConnected then
            raise (BackendUnavailable "Redis is not connected")

        let start = Stopwatch.GetTimestamp()

        try
            f ()
        finally
            metrics.RedisCall (Stopwatch.GetElapsedTime start).TotalSeconds

    let unwrap (e: exn) =
        match e with
        | :? AggregateException as a when not (isNull a.InnerException) -> a.InnerException
        | e -> e

    /// A failure of the Redis wing as the port's: BackendUnavailable while Redis is away, and for a
    /// message (`message`) whose write may have been applied, OutcomeUnknown; None for a bug.
    let portFailure (message: bool) (e: exn) : exn option =
        match unwrap e with
        | MaybeApplied reason when message -> Some(OutcomeUnknown(redacted muxer reason))
        | Transient reason -> Some(BackendUnavailable(redacted muxer reason))
        | _ -> None

    let awaitCall (message: bool) (t: Task<'a>) : 'a =
        timed (fun () ->
            try
                t.GetAwaiter().GetResult()
            with e ->
                match portFailure message e with
                | Some failure -> raise failure
                | None -> reraise ())

    /// Waits for a task of the Redis wing; its failures as the port's.
    let wait (t: Task<'a>) : 'a = awaitCall false t

    /// `wait` for a message (`/publish`, `/msg`), which may have been applied when it failed.
    let waitWrite (t: Task<'a>) : 'a = awaitCall true t

    let waitDone (t: Task) =
        wait (
            t.ContinueWith(
                Func<Task, unit>(fun t -> t.GetAwaiter().GetResult()),
                TaskContinuationOptions.ExecuteSynchronously
            )
        )

    let guard f = timed (fun () -> guarded muxer f)

    /// A room message through `target` (the connection itself, or a batch), not awaited.
    let say (target: IDatabaseAsync) (room: RoomName) (from: Username) (text: string) (unixMs: int64) =
        // Checked before issuing, so that an outage answers at once.
        if not muxer.IsConnected then
            raise (BackendUnavailable "Redis is not connected")

        let line = EventLine.encodeRoom (EventLine.RoomEvent.Said(from, text))

        // Not awaited here: the caller sends its next message at once, and only a failure has
        // anything to do.
        (RedisScripts.addTo target (steps.RoomStream room) line unixMs)
            .ContinueWith(
                Func<Task<StreamPos>, MsgId>(fun sent ->
                    match sent.Exception with
                    | null -> (MsgId.tryCreate (StreamPos.render sent.Result)).Value
                    | e ->
                        match portFailure true e with
                        | Some failure -> raise failure
                        | None ->
                            ExceptionDispatchInfo.Capture(unwrap e).Throw()
                            Unchecked.defaultof<MsgId>),
                TaskContinuationOptions.ExecuteSynchronously
            )

    /// Up to `count` messages of the room's stream from `start` on, in `order`, read a page at a
    /// time (the stream holds presence events too).
    let messages (room: RoomName) (order: Order) (start: string) (count: int) =
        let n = min count historyLimit
        let pageSize = 2 * n + 10

        let rec collect (from: string) (found: HistoryEntry list) =
            if found.Length >= n then
                found
            else
                let low, high = if order = Order.Ascending then from, "+" else "-", from

                let page =
                    guard (fun () ->
                        db.StreamRange(
                            key (RedisKeys.roomLog room),
                            value low,
                            value high,
                            Nullable pageSize,
                            order,
                            CommandFlags.None
                        ))

                let found = found @ (page |> Array.choose historyEntry |> List.ofArray)

                if page.Length < pageSize then
                    found
                else
                    collect ("(" + string page[page.Length - 1].Id) found

        if n <= 0 then [] else collect start [] |> List.truncate n


    let usersOf (values: RedisValue[]) =
        values
        |> Array.choose (string >> Username.tryCreate)
        |> Array.sortBy Username.value
        |> List.ofArray

    let counter (value: RedisValue) =
        match Int32.TryParse(string value) with
        | true, n -> n
        | _ -> 0

    /// Watches the publishers `user` follows (at login, and `/subscribe`); `Unfollow` undoes it.
    let follow (user: Username) (targets: Username list) =
        for target in targets do
            let fresh =
                lock following (fun () ->
                    match following.TryGetValue target with
                    | true, set -> set.Add user
                    | _ ->
                        following[target] <- HashSet [ user ]
                        true)

            if fresh then
                try
                    feeds.Watch(PublisherFeed target)
                with _ ->
                    lock following (fun () -> following[target].Remove user |> ignore)
                    reraise ()

    let unfollow (user: Username) (targets: Username list) =
        for target in targets do
            let removed =
                lock following (fun () ->
                    match following.TryGetValue target with
                    | true, set -> set.Remove user
                    | _ -> false)

            if removed then
                feeds.Unwatch(PublisherFeed target)

    let followedBy (user: Username) =
        lock following (fun () -> [
            for KeyValue(target, set) in following do
                if set.Contains user then
                    target
        ])

    let liveness =
        new RedisLiveness(
            muxer,
            serverId,
            steps,
            localSessions,
            (fun (sid, generation) -> generations[sid] <- generation),
            (fun (user, sid) -> listener (BusEvent.Kicked(user, sid))),
            warn,
            metrics
        )

    // The library's own trouble (a reader or heartbeat that failed) is reported only here.
    let onInternalError =
        EventHandler<InternalErrorEventArgs>(fun _ e ->
            logged warn "redis internal error report" (fun () ->
                warn (sprintf "redis client internal error in %s: %O" e.Origin e.Exception)))

    // After a node fails, the library learns the new topology (a replica promoted, a Sentinel's new
    // master) when something tells it, such as a redirect from a reachable node; but with fail-fast,
    // commands for the lost node's slots are refused here and never reach a node that would
    // redirect them. So after a failure the topology is read again every 2 s for half a minute.
    let mutable nudging = 0

    let nudge () =
        if Interlocked.CompareExchange(&nudging, 1, 0) = 0 then
            task {
                try
                    for _ in 1..15 do
                        if not disposed then
                            do! Task.Delay 2000

                            try
                                let! _ = muxer.ReconfigureAsync "a connection to Redis failed"
                                ()
                            with e ->
                                warn (sprintf "re-reading the Redis topology failed: %s" e.Message)
                finally
                    nudging <- 0
            }
            |> ignore

    let onFailed =
        EventHandler<ConnectionFailedEventArgs>(fun _ e ->
            logged warn "redis link report" (fun () ->
                if e.ConnectionType = ConnectionType.Subscription then
                    warn "redis subscription link lost; what is sent meanwhile is read back from the streams"
                else
                    warn (sprintf "redis connection lost (%O); commands answer ERR UNAVAILABLE" e.FailureType)

                nudge ()))

    do
        muxer.InternalError.AddHandler onInternalError
        muxer.ConnectionFailed.AddHandler onFailed

    /// The multiplexer to make a RedisBackend with: see RedisConnection.connect.
    static member connect (configuration: string) (timeout: TimeSpan) =
        RedisConnection.connect configuration timeout

    /// The same, trusting the CA certificate in `caFile` too (`--redis-ca`).
    static member connectTrusting (caFile: string option) (configuration: string) (timeout: TimeSpan) =
        RedisConnection.connectTrusting caFile configuration timeout

    interface IChatBackend with
        member _.PasswordHash user =
            let v =
                guard (fun () -> db.HashGet(key (RedisKeys.account user), value "hash", CommandFlags.None))

            if v.IsNull then None else Some(string v)

        member _.CreateAccount(user, hash) =
            guard (fun () ->
                db.HashSet(key (RedisKeys.account user), value "hash", value hash, When.NotExists, CommandFlags.None))

        member _.UserExists user =
            guard (fun () -> db.KeyExists(key (RedisKeys.account user), CommandFlags.None))

        // Two slots (the user's, the address'): two reads, sent together.
        member _.FailedLogins(user, address) =
            let byUser = db.StringGetAsync(key (RedisKeys.failedUser user), CommandFlags.None)

            let byAddress =
                db.StringGetAsync(key (RedisKeys.failedAddress address), CommandFlags.None)

            counter (wait byUser), counter (wait byAddress)

        member _.RecordFailedLogin(user, address) =
            let a = RedisScripts.countIn db (RedisKeys.failedUser user) 60
            let b = RedisScripts.countIn db (RedisKeys.failedAddress address) 60
            waitDone a
            waitDone b

        member _.Registrations address =
            counter (guard (fun () -> db.StringGet(key (RedisKeys.registeredAddress address), CommandFlags.None)))

        member _.RecordRegistration address =
            waitDone (RedisScripts.countIn db (RedisKeys.registeredAddress address) 3600)

        // The server's sessions entry first: a crash after the claim leaves a trail a sweep follows.
        member _.Claim(user, sid, policy) =
            let u, s = value (Username.value user), value (SessionId.value sid)

            guard (fun () -> db.HashSet(key (RedisKeys.serverSessions serverId), u, s, When.Always, CommandFlags.None))
            |> ignore

            match wait (RedisScripts.claimName db user sid serverId (policy = Reject)) with
            | HeldElsewhere ->
                wait (RedisScripts.unsetIf db (RedisKeys.serverSessions serverId) user sid)
                |> ignore

                AlreadyOnline
            | Taken(generation, previous) ->
                generations[sid] <- generation
                waitDone (steps.Online(user, sid, generation))

                Claimed(
                    previous
                    |> Option.map (fun (old, server, rooms) -> {
                        Sid = old
                        Server = server
                        Rooms = rooms
                    })
                )

        member _.Evict(user, evicted) =
            waitDone (steps.Kick(user, evicted.Sid, evicted.Server))

            for room in evicted.Rooms do
                waitDone (steps.Leave(user, evicted.Sid, room))

            wait (RedisScripts.unsetIf db (RedisKeys.serverSessions evicted.Server) user evicted.Sid)
            |> ignore

        // Subscribed before entering: the entry and all after it reach this instance.
        member _.Enter(user, sid) =
            feeds.Watch(RoomFeed RoomName.lobby)

            try
                waitDone (steps.Enter(user, sid, generations.GetValueOrDefault(sid, 0L), RoomName.lobby))
            with _ ->
                feeds.Unwatch(RoomFeed RoomName.lobby)
                reraise ()

            let targets =
                guard (fun () -> db.SetMembers(key (RedisKeys.follows user), CommandFlags.None))
                |> usersOf

            follow user targets

        member _.Release(user, sid, room) =
            // The inbox first: what comes after the session ended waits for the next login.
            match inboxes.TryRemove sid with
            | true, owner -> feeds.CloseInbox owner
            | _ -> ()

            let left = wait (steps.End(user, sid, serverId, [ room ]))
            generations.TryRemove sid |> ignore

            feeds.Unwatch(RoomFeed room)
            unfollow user (followedBy user)
            left

        // The move is decided in the user's slot (fenced), then carried out: out of the room left,
        // into the new one, and the session told it is done; a sweep finishes a move cut short.
        member _.Move(user, sid, from, into) =
            feeds.Watch(RoomFeed into)

            match
                (try
                    wait (RedisScripts.moveSession db user sid into)
                 with _ ->
                     feeds.Unwatch(RoomFeed into)
                     reraise ())
            with
            | None ->
                feeds.Unwatch(RoomFeed into)
                false
            | Some(left, generation) ->
                let left = defaultArg left from
                waitDone (steps.Leave(user, sid, left))
                waitDone (steps.Enter(user, sid, generation, into))
                waitDone (RedisScripts.settleMove db user sid)
                feeds.Unwatch(RoomFeed from)
                true

        // Each room's size lives in its own slot: one read per room, sent together.
        member _.Rooms() =
            let names =
                guard (fun () -> db.SetMembers(key RedisKeys.rooms, CommandFlags.None))
                |> Array.choose (string >> RoomName.tryCreate)

            let sizes =
                names
                |> Array.map (fun r -> db.HashLengthAsync(key (RedisKeys.members r), CommandFlags.None))

            Array.zip names (sizes |> Array.map wait)
            |> Array.filter (fun (_, n) -> n > 0L)
            |> Array.map (fun (r, n) -> r, int n)
            |> Array.sortBy (fst >> RoomName.value)
            |> List.ofArray

        member _.Members room =
            guard (fun () -> db.HashKeys(key (RedisKeys.members room), CommandFlags.None))
            |> usersOf

        member _.Online() =
            guard (fun () -> db.HashKeys(key RedisKeys.online, CommandFlags.None))
            |> usersOf

        // The target's followers (who receives) first, then the follower's list (what /subs shows):
        // one step per slot; this instance watches the target before it can be sent anything.
        member _.Subscribe(follower, target) =
            follow follower [ target ]

            guard (fun () ->
                db.SetAdd(key (RedisKeys.followers target), value (Username.value follower), CommandFlags.None))
            |> ignore

            guard (fun () ->
                db.SetAdd(key (RedisKeys.follows follower), value (Username.value target), CommandFlags.None))
            |> ignore

        member _.Unsubscribe(follower, target) =
            guard (fun () ->
                db.SetRemove(key (RedisKeys.follows follower), value (Username.value target), CommandFlags.None))
            |> ignore

            guard (fun () ->
                db.SetRemove(key (RedisKeys.followers target), value (Username.value follower), CommandFlags.None))
            |> ignore

            unfollow follower [ target ]

        member _.Subscriptions follower =
            guard (fun () -> db.SetMembers(key (RedisKeys.follows follower), CommandFlags.None))
            |> usersOf

        member _.Say(room, from, text, unixMs) = say db room from text unixMs

        // The messages wait in a batch of the library's, written in one go by Flush.
        member _.Pipeline() =
            let batch = ref null

            {
                new IMessagePipeline with
                    member _.Say(room, from, text, unixMs) =
                        if isNull batch.Value then
                            batch.Value <- db.CreateBatch()

                        say batch.Value room from text unixMs

                    member _.Flush() =
                        match batch.Value with
                        | null -> ()
                        | b ->
                            batch.Value <- null
                            b.Execute()
            }

        // The recipients are the followers when it was sent; how many are online is read from
        // their own slots, all at once.
        member _.Publish(from, text) =
            let id, recipients =
                waitWrite (
                    RedisScripts.publishTo db (RedisKeys.followers from) (steps.PublicationStream from) text (clock ())
                )

            let online =
                recipients
                |> List.map (fun r -> db.KeyExistsAsync(key (RedisKeys.session r), CommandFlags.None))
                |> List.filter wait
                |> List.length

            (MsgId.tryCreate (StreamPos.render id)).Value, online

        // The stream holds presence events too: read back from its end until `count` messages.
        member _.History(room, count) =
            messages room Order.Descending "+" count |> List.rev

        member _.HistoryAfter(room, after, count) =
            messages room Order.Ascending ("(" + MsgId.value after) count

        member _.HistoryBefore(room, before, count) =
            messages room Order.Descending ("(" + MsgId.value before) count |> List.rev

        // One key per token, in the user's slot, living as long as the token.
        member _.StoreToken(user, hash, ttl) =
            guard (fun () ->
                db.StringSet(key (RedisKeys.token user hash), value "1", Nullable ttl, When.Always, CommandFlags.None))
            |> ignore

        member _.TokenValid(user, hash) =
            guard (fun () -> db.KeyExists(key (RedisKeys.token user hash), CommandFlags.None))

        member _.RevokeToken(user, hash) =
            guard (fun () -> db.KeyDelete(key (RedisKeys.token user hash), CommandFlags.None))
            |> ignore

        // In the recipient's slot: its inbox; then, if it is logged in, forwarded to the control
        // channel of the server that holds its session (fire and forget: a lost forward is read
        // back from the inbox, at a gap or when the link comes back, or at the next login).
        member _.SendDirect(from, recipient, text, unixMs) =
            let line = EventLine.encodeDirect from text

            let id, prev, server =
                waitWrite (RedisScripts.directTo db (steps.InboxStream recipient) recipient line unixMs)

            match server with
            | Some server ->
                let framed = EventLine.frame (StreamPos.render prev) (StreamPos.render id) line

                db.PublishAsync(
                    RedisChannel.Sharded(RedisKeys.control server),
                    value (EventLine.encodeForward recipient framed),
                    CommandFlags.FireAndForget
                )
                |> ignore
            | None -> ()

            (MsgId.tryCreate (StreamPos.render id)).Value

        member _.OpenInbox(user, sid) =
            let seen =
                guard (fun () -> db.StringGet(key (RedisKeys.inboxSeen user), CommandFlags.None))
                |> string
                |> StreamPos.tryParse
                |> Option.defaultValue StreamPos.zero

            if inboxes.TryAdd(sid, user) then
                feeds.OpenInbox(user, seen)

        member _.Listen handler =
            listener <- handler

            if not started then
                started <- true
                guard (fun () -> feeds.Start())

    interface IDisposable with
        /// Stops listening and deregisters; the server released its sessions before.
        member _.Dispose() =
            if not disposed then
                disposed <- true
                (feeds :> IDisposable).Dispose()
                muxer.InternalError.RemoveHandler onInternalError
                muxer.ConnectionFailed.RemoveHandler onFailed
                (liveness :> IDisposable).Dispose()

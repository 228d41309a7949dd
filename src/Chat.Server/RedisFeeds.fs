namespace Chat.Server

open System
open System.Collections.Generic
open System.Threading
open System.Threading.Tasks
open StackExchange.Redis
open Chat.Domain
open RedisCalls

/// A stream this instance reads: a room's events, or a publisher's publications.
type internal Feed =
    | RoomFeed of RoomName
    | PublisherFeed of Username
    /// A user's inbox: its direct messages.
    | DirectFeed of Username

/// One watched stream: its subscription, its cursor (guarded by `Gate`), how many local reasons
/// keep it, and whether its subscription is established.
[<AllowNullLiteral>]
type internal FeedState(feed: Feed) =
    member val Gate = obj ()
    member val Cursor: Cursor<string> = StreamCursor.starting with get, set
    member val Count = 0 with get, set
    member val Queue: ChannelMessageQueue = null with get, set
    member val Ready = TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    /// The stream's last id when a check last found it ahead of what was delivered.
    member val Behind: StreamPos option = None with get, set
    /// Where reading starts: the stream's tail when None, else this id (an inbox: the last
    /// message its user was given), read back from there at once.
    member val StartAt: StreamPos option = None with get, set
    member _.Feed = feed

/// The streams this instance needs, and the sharded channels it reads them through: a room's while
/// it has local members, a publisher's while a local session follows it, and its own control
/// channel. Each stream's entries go through its pure `StreamCursor`, which says what to deliver
/// (in order, once), what to read back from the stream by id (`XRANGE`), and what is lost; this
/// class only executes that. Messages of one channel come in order, one at a time (the library's
/// ordered queue); different streams run side by side, and the listener orders them itself.
type internal RedisFeeds
    (
        muxer: ConnectionMultiplexer,
        serverId: string,
        listener: unit -> (BusEvent -> unit),
        warn: string -> unit,
        metrics: ServerMetrics
    ) =
    let db = muxer.GetDatabase()
    let sub = muxer.GetSubscriber()
    let gate = obj ()
    let feeds = Dictionary<Feed, FeedState>()
    // The inboxes of local users: read through this instance's control channel, not a channel each.
    let inboxes = Dictionary<Username, FeedState>()
    let mutable control: ChannelMessageQueue = null
    let mutable disposed = false

    /// How many entries one read back takes.
    static let page = 1000
    /// How long a feed nobody needs stays subscribed: its last events (the leave that ended its
    /// need) still come by, and a quick rejoin does not subscribe again.
    static let linger = TimeSpan.FromSeconds 5.0

    let streamKey =
        function
        | RoomFeed r -> RedisKeys.roomLog r
        | PublisherFeed u -> RedisKeys.publications u
        | DirectFeed u -> RedisKeys.inbox u

    let channel =
        function
        | RoomFeed r -> RedisChannel.Sharded(RedisKeys.roomChannel r)
        | PublisherFeed u -> RedisChannel.Sharded(RedisKeys.publicationChannel u)
        | DirectFeed u -> RedisChannel.Sharded(RedisKeys.inboxChannel u)

    let describe =
        function
        | RoomFeed r -> "room " + RoomName.value r
        | PublisherFeed u -> "publisher " + Username.value u
        | DirectFeed u -> "inbox of " + Username.value u

    let decode feed (entry: StreamEntry<string>) =
        match MsgId.tryCreate (StreamPos.render entry.Id) with
        | None -> None
        | Some id ->
            match feed with
            | RoomFeed r -> EventLine.decodeRoom entry.Event |> Option.map (EventLine.roomEvent r id)
            | PublisherFeed u -> EventLine.decodePublication u id entry.Event
            | DirectFeed u -> EventLine.decodeDirect u id entry.Event

    let rec execute (state: FeedState) (steps: Step<string> list) =
        for step in steps do
            match step with
            | Step.Deliver entry ->
                match decode state.Feed entry with
                | Some event ->
                    try
                        listener () event
                    with e ->
                        warn (sprintf "delivering %A failed: %O" event e)

                    // An inbox remembers what its user was given: at the next login, the rest.
                    match state.Feed with
                    | DirectFeed u ->
                        db.StringSetAsync(
                            key (RedisKeys.inboxSeen u),
                            value (StreamPos.render entry.Id),
                            Nullable(),
                            When.Always,
                            CommandFlags.FireAndForget
                        )
                        |> ignore
                    | _ -> ()
                | None ->
                    warn (
                        sprintf "%s: dropped the malformed entry %s" (describe state.Feed) (StreamPos.render entry.Id)
                    )
            // Started on the pool, never here: this runs under the feed's lock, often on the
            // library's own thread, and a call into the library from there can wait on it.
            | Step.Fetch after -> Task.Run(fun () -> fetch state after) |> ignore
            | Step.Lost(after, upTo) ->
                metrics.BusLost 1L

                warn (
                    sprintf
                        "%s: the entries after %s up to %s were trimmed from the stream before they were read; they are lost"
                        (describe state.Feed)
                        (StreamPos.render after)
                        (StreamPos.render upTo)
                )
            | Step.Rewound(delivered, logEnd) ->
                metrics.BusLost 1L

                warn (
                    sprintf
                        "%s: the stream ends at %s although %s was delivered: Redis lost writes (a failover, or a restart without persistence); what was delivered after %s is no longer in its history, and no id is issued twice"
                        (describe state.Feed)
                        (StreamPos.render logEnd)
                        (StreamPos.render delivered)
                        (StreamPos.render logEnd)
                )

    /// Reads the stream back after `after`, then hands the answer to the cursor; while Redis cannot
    /// be read, tries again each second.
    and fetch (state: FeedState) (after: StreamPos) : Task =
        task {
            try
                let! entries =
                    db.StreamRangeAsync(
                        key (streamKey state.Feed),
                        value ("(" + StreamPos.render after),
                        value "+",
                        Nullable page,
                        Order.Ascending,
                        CommandFlags.None
                    )

                let read = entries |> Array.choose entryOf |> List.ofArray
                metrics.BusRecovered read.Length

                lock state.Gate (fun () ->
                    let next, steps =
                        StreamCursor.fetched after read (entries.Length < page) state.Cursor

                    state.Cursor <- next
                    execute state steps)
            with e ->
                if not disposed then
                    warn (sprintf "%s: cannot read the stream back yet (%s); retrying" (describe state.Feed) e.Message)
                    lock state.Gate (fun () -> state.Cursor <- fst (StreamCursor.fetchFailed state.Cursor))
                    do! Task.Delay 1000

                    lock state.Gate (fun () ->
                        let next, steps = StreamCursor.retry state.Cursor
                        state.Cursor <- next
                        execute state steps)
        }

    and entryOf (e: StreamEntry) : StreamEntry<string> option =
        match StreamPos.tryParse (string e.Id), StreamPos.tryParse (string e["p"]), e["e"] with
        | Some id, Some prev, line when not line.IsNull ->
            Some {
                Id = id
                Prev = prev
                Event = string line
            }
        | _ -> None

    let receive (state: FeedState) (message: string) =
        metrics.BusReceived()

        match EventLine.unframe message with
        | Some(prev, id, line) ->
            lock state.Gate (fun () ->
                let next, steps =
                    StreamCursor.live { Id = id; Prev = prev; Event = line } state.Cursor

                state.Cursor <- next
                execute state steps)
        | None -> warn (sprintf "%s: dropped a malformed channel message" (describe state.Feed))

    let tail (feed: Feed) =
        // Descending: the library sends XREVRANGE <key> <max> <min>; min and max as ever.
        let top =
            db.StreamRange(key (streamKey feed), value "-", value "+", Nullable 1, Order.Descending, CommandFlags.None)

        if top.Length = 0 then
            StreamPos.zero
        else
            StreamPos.tryParse (string top[0].Id) |> Option.defaultValue StreamPos.zero

    let subscribe (state: FeedState) =
        let queue = sub.Subscribe(channel state.Feed, CommandFlags.None)
        // The queue drops what a handler throws without a word: `receive` logs its own.
        queue.OnMessage(fun (m: ChannelMessage) ->
            try
                receive state (string m.Message)
            with e ->
                warn (sprintf "%s: a message was dropped by an unexpected error: %O" (describe state.Feed) e))

        queue

    let establish (state: FeedState) =
        try
            let queue = subscribe state
            state.Queue <- queue
            // Subscribed first, then where the stream stands: whatever is appended after this is
            // either received or read back, and nothing before it is this instance's to deliver.
            let at = defaultArg state.StartAt (tail state.Feed)

            lock state.Gate (fun () ->
                let next, steps = StreamCursor.start at state.Cursor

                let next, more =
                    if state.StartAt.IsSome then
                        StreamCursor.linkRestored next
                    else
                        next, []

                state.Cursor <- next
                execute state (steps @ more))

            state.Ready.TrySetResult() |> ignore
        with e ->
            lock gate (fun () -> feeds.Remove state.Feed |> ignore)

            if not (isNull state.Queue) then
                state.Queue.Unsubscribe(CommandFlags.FireAndForget)

            state.Ready.TrySetException e |> ignore

    let drop (state: FeedState) =
        let gone =
            lock gate (fun () ->
                if state.Count = 0 && feeds.GetValueOrDefault state.Feed = state then
                    feeds.Remove state.Feed |> ignore
                    true
                else
                    false)

        if gone && not (isNull state.Queue) then
            state.Queue.UnsubscribeAsync(CommandFlags.None)
            |> fun t ->
                t.ContinueWith(fun (t: Task) ->
                    if t.IsFaulted then
                        warn (
                            sprintf
                                "%s: unsubscribe failed: %s"
                                (describe state.Feed)
                                t.Exception.InnerException.Message
                        ))
            |> ignore

    let catchUp (state: FeedState) =
        lock state.Gate (fun () ->
            let next, steps = StreamCursor.linkRestored state.Cursor
            state.Cursor <- next
            execute state steps)

    let onRestored =
        EventHandler<ConnectionFailedEventArgs>(fun _ e ->
            logged warn "stream catch-up on reconnect" (fun () ->
                if e.ConnectionType = ConnectionType.Subscription then
                    warn (sprintf "redis subscription link back (%O); reading the streams back" e.EndPoint)
                    let all = lock gate (fun () -> List.ofSeq feeds.Values @ List.ofSeq inboxes.Values)

                    for state in all do
                        catchUp state
                else
                    warn (sprintf "redis connection back (%O)" e.EndPoint)))

    let subscribeControl () =
        let queue =
            sub.Subscribe(RedisChannel.Sharded(RedisKeys.control serverId), CommandFlags.None)

        queue.OnMessage(fun (m: ChannelMessage) ->
            try
                let line = string m.Message

                match EventLine.decodeKick line, EventLine.decodeForward line with
                | Some event, _ -> listener () event
                | None, Some(user, framed) ->
                    match lock gate (fun () -> inboxes.GetValueOrDefault user) with
                    | null -> () // not open here (any more): read at the user's next login
                    | state -> receive state framed
                | None, None -> warn "dropped a malformed control message"
            with e ->
                warn (sprintf "a control message was dropped by an unexpected error: %O" e))

        control <- queue

    /// A subscription the library did not restore (seen after failovers: the channel's shard moved
    /// to another node, and the subscription stayed with the dead one) is silent while its stream
    /// grows. Every 2 s each stream's last id is compared with what was delivered; one that stayed
    /// behind for two checks is subscribed again and read back, and so is the control channel.
    let watch () =
        task {
            let all = lock gate (fun () -> List.ofSeq feeds.Values)
            let mutable silent = false

            for state in all do
                match lock state.Gate (fun () -> StreamCursor.last state.Cursor) with
                | Some last when state.Ready.Task.IsCompletedSuccessfully ->
                    // A read that hangs (a node that went away under it) must not stop the checks.
                    let! top =
                        db
                            .StreamRangeAsync(
                                key (streamKey state.Feed),
                                value "-",
                                value "+",
                                Nullable 1,
                                Order.Descending,
                                CommandFlags.None
                            )
                            .WaitAsync(TimeSpan.FromSeconds 3.0)

                    let tail =
                        if top.Length = 0 then
                            None
                        else
                            StreamPos.tryParse (string top[0].Id)


                    match tail, state.Behind with
                    | Some t, Some before when t > last && before > last ->
                        warn (
                            sprintf
                                "%s: the subscription is silent while the stream grows; subscribing again and reading back"
                                (describe state.Feed)
                        )

                        silent <- true
                        state.Behind <- None
                        let old = state.Queue
                        state.Queue <- subscribe state

                        if not (isNull old) then
                            try
                                old.Unsubscribe(CommandFlags.None)
                            with e ->
                                warn (
                                    sprintf
                                        "%s: unsubscribing the silent subscription failed: %s"
                                        (describe state.Feed)
                                        e.Message
                                )

                        catchUp state
                    | Some t, _ when t > last -> state.Behind <- Some t
                    | _ -> state.Behind <- None
                | _ -> ()

            if silent then
                let old = control
                subscribeControl ()

                if not (isNull old) then
                    try
                        old.Unsubscribe(CommandFlags.None)
                    with e ->
                        warn (sprintf "unsubscribing the old control subscription failed: %s" e.Message)
        }
        :> Task

    let mutable watching = 0

    let watchdog =
        new Timer(
            (fun _ ->
                if
                    muxer.IsConnected
                    && not disposed
                    && Interlocked.CompareExchange(&watching, 1, 0) = 0
                then
                    (watch ())
                        .ContinueWith(fun (t: Task) ->
                            watching <- 0

                            if t.IsFaulted then
                                warn (sprintf "the subscription check failed: %s" t.Exception.InnerException.Message))
                    |> ignore),
            null,
            2000,
            2000
        )

    do muxer.ConnectionRestored.AddHandler onRestored

    /// Subscribes this instance's control channel: force-logouts of its sessions.
    member _.Start() = guarded muxer subscribeControl

    /// One more local reason to read the stream; returns once it is subscribed and positioned, so
    /// that what is appended to it from now on reaches this instance. Raises BackendUnavailable.
    member this.Watch(feed: Feed) = this.WatchFrom(feed, None)

    /// `Watch`, reading from `start` on (read back at once) rather than from the stream's tail,
    /// when the feed is not watched yet.
    member _.WatchFrom(feed: Feed, start: StreamPos option) =
        let state, fresh =
            lock gate (fun () ->
                match feeds.TryGetValue feed with
                | true, state ->
                    state.Count <- state.Count + 1
                    state, false
                | _ ->
                    let state = FeedState(feed)
                    state.Count <- 1
                    state.StartAt <- start
                    feeds[feed] <- state
                    state, true)

        if fresh then
            establish state

        let ready =
            try
                state.Ready.Task.Wait(TimeSpan.FromSeconds 5.0)
            with :? AggregateException as e ->
                lock gate (fun () -> state.Count <- state.Count - 1)

                match e.InnerException with
                | Transient reason -> raise (BackendUnavailable(redacted muxer reason))
                | inner ->
                    raise (BackendUnavailable(sprintf "cannot subscribe to %s: %s" (describe feed) inner.Message))

        if not ready then
            lock gate (fun () -> state.Count <- state.Count - 1)
            raise (BackendUnavailable(sprintf "subscribing to %s timed out" (describe feed)))

    /// Starts reading the user's inbox after `seen` (read back at once), then as its entries are
    /// forwarded to this instance's control channel.
    member _.OpenInbox(user: Username, seen: StreamPos) =
        let state = FeedState(DirectFeed user)
        let fresh = lock gate (fun () -> inboxes.TryAdd(user, state))

        if fresh then
            lock state.Gate (fun () ->
                let next, steps = StreamCursor.start seen state.Cursor
                let next, more = StreamCursor.linkRestored next
                state.Cursor <- next
                execute state (steps @ more))

            state.Ready.TrySetResult() |> ignore

    member _.CloseInbox(user: Username) =
        lock gate (fun () -> inboxes.Remove user |> ignore)

    /// One local reason less; the subscription ends a little later if none is left.
    member _.Unwatch(feed: Feed) =
        let idle =
            lock gate (fun () ->
                match feeds.TryGetValue feed with
                | true, state ->
                    state.Count <- max 0 (state.Count - 1)
                    if state.Count = 0 then Some state else None
                | _ -> None)

        match idle with
        | Some state when not disposed ->
            Task.Delay(linger).ContinueWith(fun (_: Task) -> logged warn "unsubscribe" (fun () -> drop state))
            |> ignore
        | _ -> ()

    /// The last id this instance saw on the stream: what a new entry's id must follow.
    member _.Floor(feed: Feed) =
        let state =
            lock gate (fun () ->
                match feed with
                | DirectFeed u -> inboxes.GetValueOrDefault u
                | _ -> feeds.GetValueOrDefault feed)

        match state with
        | null -> StreamPos.zero
        | state -> lock state.Gate (fun () -> StreamCursor.last state.Cursor |> Option.defaultValue StreamPos.zero)


    interface IDisposable with
        member _.Dispose() =
            disposed <- true
            watchdog.Dispose()
            muxer.ConnectionRestored.RemoveHandler onRestored

            let all = lock gate (fun () -> List.ofSeq feeds.Values)

            for state in all do
                if not (isNull state.Queue) then
                    try
                        state.Queue.Unsubscribe(CommandFlags.None)
                    with e ->
                        warn (sprintf "%s: unsubscribe failed: %s" (describe state.Feed) e.Message)

            if not (isNull control) then
                try
                    control.Unsubscribe(CommandFlags.None)
                with e ->
                    warn (sprintf "control channel: unsubscribe failed: %s" e.Message)

namespace Chat.Server

open System
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open StackExchange.Redis
open Chat.Domain
open RedisCalls

/// This server's presence in Redis, kept by a timer and the multiplexer's events: the alive key
/// (refreshed every 3 s, lives 10 s), the sweep of dead servers and of empty rooms (every 5 s),
/// and re-writing the local sessions after Redis lost them (or kicking those taken over). All of it runs asynchronously: the timer and the
/// multiplexer's events fire on pool threads, which also read Redis' sockets, so they never wait.
type internal RedisLiveness
    (
        muxer: ConnectionMultiplexer,
        serverId: string,
        steps: RedisSteps,
        localSessions: unit -> (Username * SessionId * RoomName) list,
        restored: SessionId * int64 -> unit,
        kick: Username * SessionId -> unit,
        warn: string -> unit,
        metrics: ServerMetrics
    ) =
    let db = muxer.GetDatabase()
    let aliveSeconds = 10
    let mutable disposed = false
    let mutable ticks = 0
    let mutable busy = 0
    let mutable restorePending = 0
    let mutable background = Task.CompletedTask

    let heartbeat () : Task =
        task {
            let! _ =
                db.StringSetAsync(
                    key (RedisKeys.alive serverId),
                    value "1",
                    Nullable(TimeSpan.FromSeconds(float aliveSeconds)),
                    When.Always
                )

            let! _ = db.SetAddAsync(key RedisKeys.servers, value serverId, CommandFlags.None)
            ()
        }

    /// Ends the sessions of servers whose alive key lapsed (each step fenced: two sweepers at once
    /// end each session once), then forgets the server once it holds none.
    let sweep () =
        task {
            let! servers = db.SetMembersAsync(key RedisKeys.servers, CommandFlags.None)

            for dead in servers |> Array.map string |> Array.filter ((<>) serverId) do
                let! alive = db.KeyExistsAsync(key (RedisKeys.alive dead), CommandFlags.None)

                if not alive then
                    let! held =
                        db.HashGetAllAsync(key (RedisKeys.serverSessions dead), CommandFlags.None)

                    for entry in held do
                        match Username.tryCreate (string entry.Name), SessionId.tryCreate (string entry.Value) with
                        | Some user, Some sid ->
                            let! _ = steps.End(user, sid, dead, [])
                            ()
                        | _ ->
                            warn (sprintf "sweep of %s: dropped the malformed session entry %O" dead entry.Name)

                            let! _ =
                                db.HashDeleteAsync(key (RedisKeys.serverSessions dead), entry.Name, CommandFlags.None)

                            ()

                    let! gone = RedisScripts.isForgotten db dead

                    if gone then
                        let! _ = db.SetRemoveAsync(key RedisKeys.servers, value dead, CommandFlags.None)
                        ()
        }

    /// Takes rooms without members out of the rooms index. Removed first, then checked again: an
    /// entry that raced in meanwhile puts it back (an entry adds the room after its member).
    let prune () =
        task {
            let! rooms = db.SetMembersAsync(key RedisKeys.rooms, CommandFlags.None)

            for name in rooms do
                match RoomName.tryCreate (string name) with
                | Some room ->
                    let! n = db.HashLengthAsync(key (RedisKeys.members room), CommandFlags.None)

                    if n = 0L then
                        let! _ = db.SetRemoveAsync(key RedisKeys.rooms, name, CommandFlags.None)
                        let! again = db.HashLengthAsync(key (RedisKeys.members room), CommandFlags.None)

                        if again > 0L then
                            let! _ = db.SetAddAsync(key RedisKeys.rooms, name, CommandFlags.None)
                            ()
                | None ->
                    let! _ = db.SetRemoveAsync(key RedisKeys.rooms, name, CommandFlags.None)
                    ()
        }

    /// After Redis lost data (restart, flush, failover) or the link: register again and re-write the
    /// local sessions; a session whose name another session holds now was taken over meanwhile.
    let restore () =
        task {
            do! heartbeat ()

            for (user, sid, room) in localSessions () do
                let! mine = RedisScripts.restoreSession db user sid serverId room

                match mine with
                | Some generation ->
                    restored (sid, generation)
                    let u, s = value (Username.value user), value (SessionId.value sid)
                    let! _ = db.HashSetAsync(key (RedisKeys.serverSessions serverId), u, s, When.Always)
                    do! steps.Online(user, sid, generation)
                    do! steps.Enter(user, sid, generation, room)
                | None -> kick (user, sid)
        }

    /// Starts background work unless some still runs (the next tick catches up); returns at once.
    let runInBackground (work: unit -> Task) =
        if
            not disposed
            && muxer.IsConnected
            && Interlocked.CompareExchange(&busy, 1, 0) = 0
        then
            background <-
                task {
                    try
                        try
                            if not disposed then
                                do! work ()
                        with
                        | Transient reason -> warn (sprintf "redis background work failed: %s" reason)
                        | e -> warn (sprintf "redis background work failed: %O" e)
                    finally
                        busy <- 0
                }

    let step heartbeatDue sweepDue =
        runInBackground (fun () ->
            task {
                if Interlocked.Exchange(&restorePending, 0) = 1 then
                    try
                        do! restore ()
                    with e ->
                        // Not done: the next tick tries again.
                        restorePending <- 1
                        raise e
                elif heartbeatDue then
                    do! heartbeat ()

                if sweepDue then
                    do! sweep ()
                    do! prune ()
            })

    // When the previous tick ran: the time since then counts as Redis' absence if it is away now.
    let mutable lastTick = Stopwatch.GetTimestamp()

    let countAbsence () =
        let now = Stopwatch.GetTimestamp()
        let before = Interlocked.Exchange(&lastTick, now)

        if not muxer.IsConnected then
            metrics.RedisUnavailable (Stopwatch.GetElapsedTime(before, now)).TotalSeconds

    let timer =
        new Timer(
            TimerCallback(fun _ ->
                logged warn "redis liveness tick" (fun () ->
                    countAbsence ()
                    let n = Interlocked.Increment &ticks
                    step (n % 3 = 1) (n % 5 = 0))),
            null,
            0,
            1000
        )

    let onRestored =
        EventHandler<ConnectionFailedEventArgs>(fun _ e ->
            logged warn "session restore on reconnect" (fun () ->
                // The subscription connection restores itself; data lives behind the interactive one.
                if e.ConnectionType = ConnectionType.Interactive then
                    restorePending <- 1
                    step false false))

    do muxer.ConnectionRestored.AddHandler onRestored

    interface IDisposable with
        /// Deregisters; sessions still held stay listed, so other servers sweep them.
        member _.Dispose() =
            if not disposed then
                disposed <- true
                timer.Dispose()
                muxer.ConnectionRestored.RemoveHandler onRestored
                // A running tick must not re-register this server after `leave`. Dispose runs at
                // shutdown, on a thread that may wait.
                background.Wait(TimeSpan.FromSeconds 3.0) |> ignore

                try
                    db.KeyDelete(key (RedisKeys.alive serverId), CommandFlags.None) |> ignore

                    if db.HashLength(key (RedisKeys.serverSessions serverId), CommandFlags.None) = 0L then
                        db.SetRemove(key RedisKeys.servers, value serverId, CommandFlags.None) |> ignore
                with e ->
                    warn (sprintf "could not deregister server %s from Redis: %s" serverId e.Message)

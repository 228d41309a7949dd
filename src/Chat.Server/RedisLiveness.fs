namespace Chat.Server

open System
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open StackExchange.Redis
open Chat.Domain
open RedisCalls

/// This server's presence in Redis, kept by a timer and the multiplexer's events: the alive key
/// (refreshed every 3 s, lives 10 s), the sweep of dead servers (every 5 s), and re-writing the
/// local sessions after Redis lost them. All of it runs asynchronously: the timer and the
/// multiplexer's events fire on pool threads, which also read Redis' sockets, so they never wait.
type internal RedisLiveness
    (
        muxer: ConnectionMultiplexer,
        serverId: string,
        localSessions: unit -> (Username * SessionId * RoomName) list,
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

    let heartbeat () =
        evalAsync muxer RedisScripts.heartbeat [ serverId; string aliveSeconds ] :> Task

    let announceExited dead (t: string[]) =
        match t |> Array.map Some with
        | [| u; s; r |] ->
            match
                Option.bind Username.tryCreate u, Option.bind SessionId.tryCreate s, Option.bind RoomName.tryCreate r
            with
            | Some u, Some s, Some r ->
                evalAsync muxer RedisScripts.announce [ BusCodec.encode (BusEvent.Exited(u, s, r)) ] :> Task
            | _ ->
                warn (sprintf "sweep of %s: no Exited for the malformed session %A" dead t)
                Task.CompletedTask
        | _ -> Task.CompletedTask

    /// Removes the sessions of servers whose alive key lapsed and tells everyone they left.
    let sweep () =
        task {
            let! servers = db.SetMembersAsync(key RedisKeys.servers, CommandFlags.None)

            for dead in servers |> Array.map string |> Array.filter ((<>) serverId) do
                let! alive = db.KeyExistsAsync(key (RedisKeys.alive dead), CommandFlags.None)

                if not alive then
                    let! removed = evalAsync muxer RedisScripts.sweep [ dead ]

                    for t in strings removed |> Array.chunkBySize 3 do
                        do! announceExited dead t

                    do! evalAsync muxer RedisScripts.forget [ dead ] :> Task
        }

    /// After Redis lost data (restart, flush) or the link: register again, re-write local sessions.
    let restore () =
        task {
            do! heartbeat ()

            for (u, s, r) in localSessions () do
                let args = [ Username.value u; SessionId.value s; serverId; RoomName.value r ]
                do! evalAsync muxer RedisScripts.restore args :> Task
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
                    eval muxer RedisScripts.leave [] [ serverId ] |> ignore
                with e ->
                    warn (sprintf "could not deregister server %s from Redis: %s" serverId e.Message)

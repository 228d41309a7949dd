namespace Chat.Server

open System.Collections.Concurrent
open System.Threading

/// Cleanups that shared state refused while it was unreachable (a session's release), retried on
/// a dedicated thread until they go through, so an outage leaves no ghost sessions behind.
/// A dedicated thread, since the calls block and the pool's threads read Redis' sockets.
type Retries(log: Log) =
    let pending = ConcurrentQueue<string * (unit -> unit)>()
    let wake = new AutoResetEvent(false)

    let attempt () =
        let n = pending.Count

        for _ in 1..n do
            match pending.TryDequeue() with
            | true, (what, action) ->
                try
                    action ()
                    log.Info("deferred cleanup done", [ "what", box what ])
                with
                | BackendUnavailable _ -> pending.Enqueue((what, action))
                | e ->
                    // Not an outage: trying again would fail the same way, every second.
                    log.Error("deferred cleanup failed; dropped", [ "what", box what; "error", box e ])
            | _ -> ()

    /// Whatever one round throws (even outside a cleanup) is logged, and the thread goes on: it
    /// is the only one that finishes these cleanups.
    let run () =
        while true do
            try
                wake.WaitOne(1000) |> ignore

                if not pending.IsEmpty then
                    attempt ()
            with e ->
                log.Error("deferred cleanup round failed", [ "error", box e ])

    do
        let thread = Thread(run)
        thread.IsBackground <- true
        thread.Name <- "retries"
        thread.Start()

    /// Queues an action that raised `BackendUnavailable`; it is tried again every second.
    member _.Add(what: string, action: unit -> unit) =
        pending.Enqueue((what, action))
        log.Warn("shared state unreachable; cleanup deferred", [ "what", box what ])

    member _.Count = pending.Count

namespace Chat.Server

open System
open System.Collections.Generic
open System.Threading
open System.Threading.Tasks
open StackExchange.Redis
open RedisCalls

/// The receiving end of `chat:bus`, made reliable. Pub/Sub drops what is sent while a
/// subscription is down (Redis restarting, `CLIENT KILL TYPE pubsub`, a slow reconnect), so every
/// event carries a number (`<epoch> <seq> <line>`, see RedisScripts.busPublish) and is also kept
/// in `chat:bus:log`. Events are handed on in number order, each once; a gap in the numbers is
/// read back from the log (`BusReadCount` entries a read, as many reads as the gap takes) before
/// anything after it is handed on. Quiet gaps (nothing arrives after them) are found by comparing
/// with `chat:bus:seq`: whenever a connection to Redis comes back, and when a number seen two
/// checks ago has still not arrived.
/// All of it runs on the library's threads, so it never waits: Redis is read asynchronously.
/// Counts what arrives (`metrics.BusReceived`), what is read back and what is lost.
type internal RedisBus
    (muxer: ConnectionMultiplexer, deliver: string -> unit, warn: string -> unit, metrics: ServerMetrics) =
    let db = muxer.GetDatabase()
    let position = [| key RedisKeys.busEpoch; key RedisKeys.busSeq |]
    let gate = obj ()
    let mutable epoch = ""
    let mutable last = 0L
    // While the log is being read, arrivals wait here.
    let mutable repairing = false
    let held = List<struct (string * int64 * string)>()
    let mutable suspect = 0L
    let mutable disposed = false

    /// Under the lock: hand on the next event, unless it was handed on already; true when it was.
    let accept (s: int64) (line: string) =
        if s > last then
            if s > last + 1L then
                warn (sprintf "bus events %d to %d are gone from the log; they are lost" (last + 1L) (s - 1L))
                metrics.BusLost(s - last - 1L)

            last <- s
            deliver line
            true
        else
            false

    /// Under the lock: Redis lost its data; a new epoch, numbered from 1.
    let renumber (e: string) =
        epoch <- e
        last <- 0L
        held.RemoveAll(fun struct (h, _, _) -> h <> e) |> ignore

    /// `<epoch> <seq> <line>`; the epoch is only copied when it is not the current one (read
    /// without the lock: a stale value costs a copy, never a wrong answer).
    let parse (payload: string) =
        let a = if isNull payload then -1 else payload.IndexOf ' '
        let b = if a < 0 then -1 else payload.IndexOf(' ', a + 1)

        if b < 0 then
            ValueNone
        else
            match Int64.TryParse(payload.AsSpan(a + 1, b - a - 1)) with
            | true, n ->
                let e =
                    if payload.AsSpan(0, a).SequenceEqual(epoch.AsSpan()) then
                        epoch
                    else
                        payload.Substring(0, a)

                ValueSome(struct (e, n, payload.Substring(b + 1)))
            | _ -> ValueNone

    /// Under the lock: the lowest number held back while the log is read.
    let firstHeld () =
        if held.Count = 0 then
            Int64.MaxValue
        else
            held |> Seq.map (fun struct (_, s, _) -> s) |> Seq.min

    /// One read of the log from `from` on, with the epoch it belongs to (one MULTI: the two agree).
    let read (from: int64) : Task<struct (string * StreamEntry[])> =
        task {
            let tran = db.CreateTransaction(null)
            let e = tran.StringGetAsync(position[0], CommandFlags.None)

            let entries =
                tran.StreamRangeAsync(
                    key RedisKeys.busLog,
                    value (string from + "-1"),
                    value "+",
                    Nullable RedisScripts.BusReadCount,
                    Order.Ascending,
                    CommandFlags.None
                )

            let! _ = tran.ExecuteAsync(CommandFlags.None)
            let! e = e
            let! entries = entries
            return struct (string e, entries)
        }

    /// Under the lock: hands on one read (of the log from `from` on); true when the gap is closed:
    /// the log is read to its end or up to what is held, which is then handed on too.
    let apply (from: int64) (heldAtIssue: int64) (logEpoch: string) (entries: StreamEntry[]) =
        if not (isNull logEpoch) && logEpoch <> epoch then
            // The log is of a newer epoch than the numbers asked for: read it from its start.
            renumber logEpoch
            false
        elif from <> last + 1L then
            // Renumbered while this read was under way: it read from the wrong place.
            false
        else
            let mutable recovered = 0

            for entry in entries do
                let id = string entry.Id
                let line = entry["e"]

                match Int64.TryParse(id.AsSpan(0, max 0 (id.IndexOf '-'))) with
                | true, s when not line.IsNull ->
                    if accept s (string line) then
                        recovered <- recovered + 1
                | _ -> warn (sprintf "malformed bus log entry %s" id)

            metrics.BusRecovered recovered

            let firstHeld = firstHeld ()

            // Closed when what is held follows on, or the log has nothing more before it. A short
            // read proves that only if what is held had arrived before the read began: the link may
            // have been cut again while it ran, and an event published after it began can be in
            // neither the read nor what is held; then one more read finds it.
            let endOfLog =
                entries.Length < RedisScripts.BusReadCount
                && (held.Count = 0 || heldAtIssue <= firstHeld)

            if endOfLog || last + 1L >= firstHeld then
                for struct (e, s, line) in held do
                    if e = epoch then
                        accept s line |> ignore

                held.Clear()
                repairing <- false
                true
            else
                false

    /// Reads the missing events back, a page at a time; while Redis cannot be read, once a second.
    let repair () : Task =
        task {
            let mutable closed = false

            while not closed && not disposed do
                let mutable failed = false

                try
                    let struct (from, heldAtIssue) =
                        lock gate (fun () -> struct (last + 1L, firstHeld ()))

                    let! struct (logEpoch, entries) = read from
                    closed <- lock gate (fun () -> apply from heldAtIssue logEpoch entries)
                with e ->
                    warn (sprintf "cannot read the bus log yet (%s); retrying" e.Message)
                    failed <- true

                if failed then
                    do! Task.Delay 1000
        }

    /// Under the lock: a gap before `s` (or a quiet one) was found.
    let startRepair () =
        if not repairing then
            repairing <- true
            repair () |> ignore

    /// Compares with where the bus stands in Redis; `eager` repairs any shortfall at once,
    /// otherwise only events that were due at the previous check.
    let check (eager: bool) =
        task {
            try
                let! now = db.StringGetAsync(position, CommandFlags.None)

                match now with
                | [| e; s |] when not e.IsNull ->
                    let seq = int64 s

                    lock gate (fun () ->
                        if string e <> epoch then
                            renumber (string e)

                        if seq > last && (eager || suspect > last) then
                            startRepair ()

                        suspect <- seq)
                | _ -> ()
            with e ->
                warn (sprintf "cannot read the bus position (%s)" e.Message)
        }
        :> Task

    let timer =
        new Timer(
            (fun _ ->
                logged warn "bus check" (fun () ->
                    if muxer.IsConnected then
                        check false |> ignore)),
            null,
            2000,
            2000
        )

    // Both connection types: the subscription's return is the bus link's; the interactive one's
    // is Redis' (restarted, maybe empty: a new epoch). A check that finds nothing does nothing.
    let onRestored =
        EventHandler<ConnectionFailedEventArgs>(fun _ e ->
            logged warn "bus catch-up on reconnect" (fun () ->
                if e.ConnectionType = ConnectionType.Subscription then
                    warn "bus link back; catching up from the bus log"
                else
                    warn "redis connection back; comparing with the bus log"

                check true |> ignore))

    let onFailed =
        EventHandler<ConnectionFailedEventArgs>(fun _ e ->
            logged warn "bus link report" (fun () ->
                if e.ConnectionType = ConnectionType.Subscription then
                    warn "bus link lost; what is sent meanwhile will be read back from the bus log"
                else
                    warn (sprintf "redis connection lost (%O); commands answer ERR UNAVAILABLE" e.FailureType)))

    do
        muxer.ConnectionRestored.AddHandler onRestored
        muxer.ConnectionFailed.AddHandler onFailed

    /// Starts from where the bus stands now: what came before is history.
    member _.Start() =
        match guarded muxer (fun () -> db.StringGet(position, CommandFlags.None)) with
        | [| e; s |] when not e.IsNull ->
            lock gate (fun () ->
                epoch <- string e
                last <- int64 s)
        | _ -> ()

    /// A message from the subscription, in arrival order.
    member _.Receive(payload: string) =
        match parse payload with
        | ValueSome(struct (e, s, line)) ->
            metrics.BusReceived()

            lock gate (fun () ->
                if repairing then
                    held.Add(struct (e, s, line))
                elif e <> epoch then
                    // A new epoch (Redis lost its data): start over from its first event.
                    renumber e

                    if s = 1L then
                        accept s line |> ignore
                    else
                        held.Add(struct (e, s, line))
                        startRepair ()
                elif s = last + 1L then
                    accept s line |> ignore
                elif s > last + 1L then
                    held.Add(struct (e, s, line))
                    startRepair ())
        | ValueNone -> warn (sprintf "dropped a malformed bus message: %s" payload)

    interface IDisposable with
        member _.Dispose() =
            disposed <- true
            timer.Dispose()
            muxer.ConnectionRestored.RemoveHandler onRestored
            muxer.ConnectionFailed.RemoveHandler onFailed
